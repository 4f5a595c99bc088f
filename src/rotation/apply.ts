// New values for the due secrets of one file, written into the file as the rotation branch has it.
// A key path whose ciphertext on the branch already differs from the base was rotated by an
// earlier run and is left alone, so a second run changes nothing. Every other value keeps its
// ciphertext (sealFile), so the diff shows exactly the rotated key paths.
import type { KeyRing } from '../file/key-ring.js';
import { openFile, sealFile } from '../file/secrets-file.js';
import { parseKeyPath, resolveKeyPath } from '../format/key-path.js';
import { detectStore, getStore } from '../format/stores/index.js';
import type { PathSegment, PlainValue, StoreDocument } from '../format/tree.js';

export interface ValueRotation {
  keyPath: string;
  /** A new value for the key path (the caller's generator). */
  generate(segments: readonly PathSegment[]): PlainValue;
}

export interface FileRotation {
  /** The new file content, or undefined when nothing had to change. */
  content?: string;
  rotated: string[];
  /** Key paths an earlier run already rotated on the branch. */
  alreadyRotated: string[];
}

const utf8 = new TextDecoder();

function segmentsIn(document: StoreDocument, keyPath: string): PathSegment[] {
  return resolveKeyPath(parseKeyPath(keyPath), (prefix) => Array.isArray(document.getValue(prefix)));
}

/** The stored (encrypted) form of a value, comparable across versions; maps and lists included. */
function storedForm(document: StoreDocument | undefined, keyPath: string): string | undefined {
  if (!document) return undefined;
  const value = document.getValue(segmentsIn(document, keyPath));
  return value === undefined ? undefined : JSON.stringify(value, (_key, item) => (item instanceof Map ? [...item] : typeof item === 'bigint' ? String(item) : item));
}

/**
 * Rotates `rotations` in `current` (the file on the branch, or the base when the branch lacks it),
 * comparing against `base` (the file on the default branch).
 */
export async function rotateFileValues(file: string, current: Uint8Array, base: Uint8Array | undefined, rotations: readonly ValueRotation[], keys: KeyRing): Promise<FileRotation> {
  const store = detectStore(file);
  const parse = (content: Uint8Array) => getStore(store).parse(utf8.decode(content), file);
  const currentDocument = parse(current);
  const baseDocument = base ? parse(base) : undefined;
  const todo = rotations.filter((rotation) => storedForm(currentDocument, rotation.keyPath) === storedForm(baseDocument, rotation.keyPath));
  const alreadyRotated = rotations.filter((rotation) => !todo.includes(rotation)).map((rotation) => rotation.keyPath);
  if (todo.length === 0) return { rotated: [], alreadyRotated };
  const opened = await openFile({ file, store, content: current }, keys);
  const modified = opened.plain.clone();
  for (const rotation of todo) {
    const segments = segmentsIn(modified, rotation.keyPath);
    modified.setValue(segments, rotation.generate(segments));
  }
  const content = sealFile(opened, modified);
  return { ...(content !== undefined ? { content } : {}), rotated: todo.map((rotation) => rotation.keyPath), alreadyRotated };
}
