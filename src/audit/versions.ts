// One version of a secrets file as history compares it: every value by key path (its ENC[...]
// string, or for values left in clear a marked text), the recipients and the wrapped data keys.
// No key is needed: with stable ciphertext an unchanged value keeps its exact ENC string.
import { CofferError } from '../errors.js';
import type { KeyRing } from '../file/key-ring.js';
import { openFile } from '../file/secrets-file.js';
import { formatKeyPath } from '../format/key-path.js';
import { KEY_SOURCES, parseMetadata } from '../format/metadata.js';
import { detectStore, getStore } from '../format/stores/index.js';
import { type PathSegment, type PlainValue, type StoreName, TimeValue } from '../format/tree.js';

export interface EncryptedVersion {
  kind: 'encrypted';
  /** Key path (dotted) -> ENC[...] string, or `clear:` + text for values the selection rule leaves in clear. */
  values: Map<string, string>;
  /** Key path (dotted) -> its segments, for edits. */
  paths: Map<string, PathSegment[]>;
  /** Recipient ids: age recipients, `pgp:FINGERPRINT`, or `source:id` for kms and the like. */
  recipients: string[];
  /** The wrapped data key entries (`enc`), one per recipient; a new data key changes all of them. */
  wrapped: string[];
  lastModified: string;
}

export interface OtherVersion {
  kind: 'not-encrypted' | 'unreadable';
  problem: string;
}

export type FileVersion = EncryptedVersion | OtherVersion;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A value as text for comparison (never printed unless the user asked for decrypted output). */
export function valueText(value: PlainValue): string {
  if (value === null) return 'null';
  if (value instanceof TimeValue) return `time:${value.text}`;
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('base64')}`;
  if (typeof value === 'bigint') return `int:${value}`;
  if (typeof value === 'number') return `float:${value}`;
  if (typeof value === 'boolean') return `bool:${value}`;
  return String(value);
}

/** Every scalar of plain data with its full path (list indexes included, unlike the AAD). */
export function collectLeaves(documents: PlainValue[], visit: (path: PathSegment[], value: PlainValue) => void): void {
  const walk = (value: PlainValue, path: PathSegment[]) => {
    if (value instanceof Map) for (const [key, item] of value) walk(item, [...path, key]);
    else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) walk(item, [...path, index]);
    }
    else visit(path, value);
  };
  // a second YAML document's paths start with its index in brackets
  for (const [index, document] of documents.entries()) walk(document, index === 0 ? [] : [`[${index}]`]);
}

function recipientIds(metadata: ReturnType<typeof parseMetadata>): { recipients: string[]; wrapped: string[] } {
  const recipients: string[] = [];
  const wrapped: string[] = [];
  for (const group of metadata.keyGroups) {
    for (const source of KEY_SOURCES) {
      for (const entry of group.get(source) ?? []) {
        const id = source === 'age' ? entry.get('recipient') : source === 'pgp' ? entry.get('fp') : (entry.get('arn') ?? entry.get('resource_id') ?? entry.get('vault_address') ?? entry.get('key_name'));
        if (typeof id === 'string') recipients.push(source === 'age' ? id.trim() : source === 'pgp' ? `pgp:${id.replace(/\s+/g, '').toUpperCase()}` : `${source}:${id}`);
        const enc = entry.get('enc');
        if (typeof enc === 'string') wrapped.push(enc);
      }
    }
  }
  return { recipients: [...new Set(recipients)].sort(), wrapped };
}

/** Parses one version; never throws for bad content (it becomes a marked version). */
export function readFileVersion(path: string, content: Uint8Array, store: StoreName = detectStore(path)): FileVersion {
  const text = utf8.decode(content);
  try {
    const document = getStore(store).parse(text, path);
    const raw = document.readMetadata();
    if (raw === undefined) return { kind: 'not-encrypted', problem: 'no sops metadata' };
    const metadata = parseMetadata(raw, path);
    const values = new Map<string, string>();
    const paths = new Map<string, PathSegment[]>();
    collectLeaves(document.toPlain(), (segments, value) => {
      const key = formatKeyPath(segments);
      values.set(key, typeof value === 'string' && value.startsWith('ENC[') ? value : `clear:${valueText(value)}`);
      paths.set(key, segments);
    });
    return { kind: 'encrypted', values, paths, ...recipientIds(metadata), lastModified: metadata.lastModified };
  } catch (error) {
    if (error instanceof CofferError && error.code === 'NOT_ENCRYPTED') return { kind: 'not-encrypted', problem: 'no sops metadata' };
    return { kind: 'unreadable', problem: error instanceof CofferError ? `${error.code.toLowerCase().replaceAll('_', ' ')}` : 'unparseable' };
  }
}

export interface DecryptedVersion {
  /** Key path -> value text. */
  values: Map<string, string>;
  dataKey: string;
  macVerified: boolean;
}

/** Decrypts one version with the key ring (MAC failures are reported, not thrown). */
export async function decryptFileVersion(path: string, content: Uint8Array, keys: KeyRing): Promise<DecryptedVersion> {
  const opened = await openFile({ file: path, store: detectStore(path), content }, keys, { readOnly: true, ignoreMac: true });
  const values = new Map<string, string>();
  collectLeaves(opened.plain.toPlain(), (segments, value) => values.set(formatKeyPath(segments), valueText(value)));
  return { values, dataKey: Buffer.from(opened.dataKey).toString('hex'), macVerified: opened.macVerified };
}
