// Library entry points that read files themselves: decrypt a file into plain data in memory.
import { readFile } from 'node:fs/promises';
import { CofferError } from '../errors.js';
import { detectStore } from '../format/stores/index.js';
import type { PlainValue, StoreName } from '../format/tree.js';
import { createKeyRing, type KeyRingOptions } from '../keys/key-ring.js';
import { openFile } from './secrets-file.js';

export interface DecryptFileOptions extends KeyRingOptions {
  /** Store of the file (default: from the extension). */
  store?: StoreName;
}

export interface DecryptedFile {
  store: StoreName;
  /** The first (usually only) document, without the sops metadata. */
  data: PlainValue;
  /** Every document of a multi-document YAML file. */
  documents: PlainValue[];
}

/** Reads, decrypts and MAC-checks a SOPS file; the plaintext stays in memory only. */
export async function decryptFile(path: string, options: DecryptFileOptions = {}): Promise<DecryptedFile> {
  let content: Uint8Array;
  try {
    content = await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CofferError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', `cannot read ${path}: ${code ?? 'unknown error'}`, { cause, data: { file: path } });
  }
  const store = options.store ?? detectStore(path);
  const opened = await openFile({ file: path, store, content }, createKeyRing(options));
  const documents = opened.plain.toPlain();
  return { store, data: documents[0] ?? new Map(), documents };
}
