// Generates tampered versions of a real encrypted file and classifies what openFile makes of each:
// detected (a CofferError with one of the codes the mutation's class expects), harmless (the data
// read back is provably what was written) or accepted (a documented SOPS format limitation).
// Anything else is a failure of the suite.
import { CofferError, type ErrorCode } from '../../src/errors.js';
import type { KeyRing } from '../../src/file/key-ring.js';
import { openFile, type SourceFile } from '../../src/file/secrets-file.js';
import { getStore } from '../../src/format/stores/index.js';
import type { PlainMap, PlainValue, StoreDocument, StoreName } from '../../src/format/tree.js';
import { encodePlaintext, valueTypeOf } from '../../src/format/values.js';

export interface Mutation {
  /** The mutation class, e.g. `flip data first char` (the summary groups by it). */
  kind: string;
  /** Where it was applied, for a failure message. */
  at: string;
  text: string;
  /** Codes that count as "detected" for this mutation. */
  expect: readonly ErrorCode[];
  /** When set, an undetected mutation that changed the data is accepted for this documented reason. */
  limitation?: string;
}

export type Outcome =
  | { kind: 'detected'; code: ErrorCode }
  | { kind: 'harmless'; reason: string }
  | { kind: 'accepted'; reason: string }
  | { kind: 'failed'; detail: string };

/** Everything a reader gets out of a file: each leaf's path, kind, type and plaintext bytes. */
export interface Snapshot {
  values: string[];
  comments: string[];
}

export function snapshotOf(document: StoreDocument): Snapshot {
  const values: string[] = [];
  const comments: string[] = [];
  document.mapLeaves((leaf) => {
    const path = JSON.stringify(leaf.keyPath);
    if (leaf.isComment) comments.push(`${path} ${String(leaf.value)}`);
    else if (leaf.value === null) values.push(`${path} null`);
    else {
      const type = leaf.value instanceof Uint8Array ? 'bytes' : valueTypeOf(leaf.value);
      values.push(`${path} ${type} ${Buffer.from(encodePlaintext(leaf.value)).toString('hex')}`);
    }
    return undefined;
  });
  // The structure too: an empty map or list added or removed has no leaf.
  values.push(JSON.stringify(document.toPlain(), (_key, value: unknown) => (value instanceof Map ? [...value] : typeof value === 'bigint' ? `${value}n` : value)));
  return { values, comments };
}

/** Same paths and plaintext bytes, only the recorded types differ. */
function onlyTypesDiffer(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const strip = (entry: string) => entry.replace(/^(\S+) (str|int|float|bool|bytes|time) /, '$1 ');
  // The structure line renders typed values, so compare it loosely: same keys in the same order.
  return a.slice(0, -1).every((entry, index) => strip(entry) === strip(b[index] ?? ''));
}

export async function classify(mutation: Mutation, store: StoreName, keys: KeyRing, baseline: Snapshot): Promise<Outcome> {
  const source: SourceFile = { file: 'tampered', store, content: new TextEncoder().encode(mutation.text) };
  let snapshot: Snapshot;
  try {
    const opened = await openFile(source, keys);
    snapshot = snapshotOf(opened.plain);
  } catch (error) {
    if (!(error instanceof CofferError)) return { kind: 'failed', detail: `threw a non-CofferError: ${String(error)}` };
    if (mutation.expect.includes(error.code)) return { kind: 'detected', code: error.code };
    return { kind: 'failed', detail: `detected with ${error.code} (${error.message}), expected one of ${mutation.expect.join(', ')}` };
  }
  const sameValues = snapshot.values.join('\n') === baseline.values.join('\n');
  const sameComments = snapshot.comments.join('\n') === baseline.comments.join('\n');
  if (sameValues && sameComments) return { kind: 'harmless', reason: 'identical data: every value, type and comment reads back as written' };
  if (sameValues) return { kind: 'harmless', reason: 'comments only: comments are outside the MAC and one that fails to decrypt stays as-is (as in SOPS)' };
  if (onlyTypesDiffer(snapshot.values, baseline.values)) {
    return { kind: 'harmless', reason: 'type only: `type:` is not authenticated (SOPS), but the plaintext bytes are, and they are unchanged' };
  }
  if (mutation.limitation) return { kind: 'accepted', reason: mutation.limitation };
  return { kind: 'failed', detail: 'undetected: the file opened and its data changed' };
}

// --- mutation generators ---------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENC = /ENC\[AES256_GCM,data:([^,\]]*),iv:([^,\]]*),tag:([^,\]]*),type:([^\]]*)\]/g;
const TYPES = ['str', 'int', 'float', 'bool', 'bytes', 'time', 'comment'] as const;

const VALUE_DETECTED: readonly ErrorCode[] = ['DECRYPTION_FAILED', 'MALFORMED_ENCRYPTED_VALUE'];
const MAC_DETECTED: readonly ErrorCode[] = ['MAC_MISMATCH', 'MAC_MISSING'];
const STRUCTURE_DETECTED: readonly ErrorCode[] = ['DECRYPTION_FAILED', 'MAC_MISMATCH', 'VALUE_NOT_ENCRYPTED', 'MALFORMED_ENCRYPTED_VALUE', 'PARSE_ERROR'];
const METADATA_DETECTED: readonly ErrorCode[] = ['METADATA_INVALID', 'MAC_MISMATCH', 'MAC_MISSING', 'UNSUPPORTED_VERSION', 'NOT_ENCRYPTED', 'NO_MATCHING_IDENTITY', 'DATA_KEY_INVALID', 'PARSE_ERROR', 'VALUE_NOT_ENCRYPTED', 'DECRYPTION_FAILED'];
const TRUNCATION_DETECTED: readonly ErrorCode[] = [...METADATA_DETECTED, 'MALFORMED_ENCRYPTED_VALUE'];
const DATA_KEY_DETECTED: readonly ErrorCode[] = ['NO_MATCHING_IDENTITY', 'DATA_KEY_INVALID', 'METADATA_INVALID', 'KEY_SOURCE_FAILED', 'DECRYPTION_FAILED'];

const EMPTY_VALUES = 'empty and null values carry no ciphertext and add no bytes to the MAC (SOPS format): they can be added, removed or renamed unnoticed';
const UNENCRYPTED_KEYS = 'key names are not in the MAC and unencrypted values are not bound to their key (SOPS format): a key holding a clear or empty value can be renamed';
const MAC_CONCATENATION = 'the MAC hashes the values concatenated without separators (SOPS format): bytes can move between two adjacent clear values';

interface Occurrence {
  start: number;
  end: number;
  fields: { name: 'data' | 'iv' | 'tag' | 'type'; start: number; text: string }[];
  role: 'value' | 'comment' | 'mac';
}

export function findEncryptedValues(text: string): Occurrence[] {
  const found: Occurrence[] = [];
  for (const match of text.matchAll(ENC)) {
    const start = match.index;
    const [whole, data = '', iv = '', tag = '', type = ''] = match;
    const dataStart = start + 'ENC[AES256_GCM,data:'.length;
    const ivStart = dataStart + data.length + ',iv:'.length;
    const tagStart = ivStart + iv.length + ',tag:'.length;
    const typeStart = tagStart + tag.length + ',type:'.length;
    const before = text.slice(Math.max(0, start - 40), start);
    const role = type === 'comment' ? 'comment' : /(?:\bmac|sops_mac)\W*$/.test(before) ? 'mac' : 'value';
    found.push({
      start,
      end: start + whole.length,
      role,
      fields: [
        { name: 'data', start: dataStart, text: data },
        { name: 'iv', start: ivStart, text: iv },
        { name: 'tag', start: tagStart, text: tag },
        { name: 'type', start: typeStart, text: type },
      ],
    });
  }
  return found;
}

const replaceAt = (text: string, at: number, length: number, by: string) => text.slice(0, at) + by + text.slice(at + length);
const shifted = (char: string, by = 1) => B64[(B64.indexOf(char) + by) % 64] ?? 'A';

/** Index of the last base64 character that carries data bits (before any `=` padding). */
function lastSignificant(field: string): number {
  return field.replace(/=+$/, '').length - 1;
}

/** A replacement for the last significant character that changes only its unused padding bits. */
function paddingBitFlip(field: string): string | undefined {
  const padding = field.length - field.replace(/=+$/, '').length;
  if (padding === 0) return undefined;
  const unusedBits = padding === 1 ? 2 : 4;
  const char = field[lastSignificant(field)] ?? 'A';
  return B64[B64.indexOf(char) ^ 1] ?? (unusedBits > 0 ? 'A' : undefined);
}

/** Flips of every byte-position class of every ENC field (data, iv, tag, type) of values, comments and the MAC. */
export function flipEncryptedFields(text: string, dense = false): Mutation[] {
  const mutations: Mutation[] = [];
  findEncryptedValues(text).forEach((occurrence, index) => {
    const expect = occurrence.role === 'mac' ? MAC_DETECTED : occurrence.role === 'comment' ? [] : VALUE_DETECTED;
    const at = `${occurrence.role} #${index}`;
    for (const field of occurrence.fields) {
      if (field.name === 'type') {
        for (const type of [...TYPES, 'xyz', '']) {
          if (type === field.text) continue;
          // Raw bytes fit only a binary file: a text store refuses such a value (UNSUPPORTED_VALUE).
          const expect = occurrence.role === 'mac' ? MAC_DETECTED : type === 'bytes' ? [...VALUE_DETECTED, 'UNSUPPORTED_VALUE' as const] : VALUE_DETECTED;
          mutations.push({ kind: `${occurrence.role} type -> ${type || '(empty)'}`, at, text: replaceAt(text, field.start, field.text.length, type), expect });
        }
        continue;
      }
      const last = lastSignificant(field.text);
      const positions = dense
        ? Array.from({ length: last + 1 }, (_, i) => i)
        : [...new Set([0, Math.floor(last / 2), last])];
      for (const position of positions) {
        const char = field.text[position] ?? 'A';
        const label = position === 0 ? 'first' : position === last ? 'last' : 'middle';
        // The last character may carry unused padding bits in its low bits: flip a data bit (16).
        const by = position === last ? 16 : 1;
        mutations.push({ kind: `${occurrence.role} ${field.name} flip ${label} char`, at: `${at} @${position}`, text: replaceAt(text, field.start + position, 1, shifted(char, by)), expect });
        if (position === 0) {
          mutations.push({ kind: `${occurrence.role} ${field.name} flip high bit`, at, text: replaceAt(text, field.start, 1, shifted(char, 32)), expect });
        }
      }
      const padFlip = paddingBitFlip(field.text);
      // Go and Node decode non-zero padding bits to the same bytes: this one must be harmless.
      if (padFlip) mutations.push({ kind: `${occurrence.role} ${field.name} flip padding bits`, at, text: replaceAt(text, field.start + last, 1, padFlip), expect: [] });
      mutations.push({ kind: `${occurrence.role} ${field.name} invalid char`, at, text: replaceAt(text, field.start, 1, '!'), expect });
      mutations.push({ kind: `${occurrence.role} ${field.name} drop a char`, at, text: replaceAt(text, field.start, 1, ''), expect });
      mutations.push({ kind: `${occurrence.role} ${field.name} emptied`, at, text: replaceAt(text, field.start, field.text.length, ''), expect });
      mutations.push({ kind: `${occurrence.role} ${field.name} doubled`, at, text: replaceAt(text, field.start, field.text.length, field.text.replace(/=+$/, '') + field.text), expect });
    }
  });
  return mutations;
}

/** Swaps of two values and copies of one value over another (different or equal key paths). */
export function swapAndMoveValues(text: string, pairs = 12): Mutation[] {
  const values = findEncryptedValues(text).filter((occurrence) => occurrence.role === 'value');
  const mutations: Mutation[] = [];
  const chosen: [number, number][] = [];
  for (let i = 0; i + 1 < values.length; i++) chosen.push([i, i + 1]);
  for (let i = 0; i + 2 < values.length; i += 2) chosen.push([i, values.length - 1 - (i % 3)]);
  for (const [i, j] of chosen.slice(0, pairs)) {
    const a = values[i];
    const b = values[j];
    if (!a || !b || i === j) continue;
    const aText = text.slice(a.start, a.end);
    const bText = text.slice(b.start, b.end);
    // b comes after a: replace b first so a's offsets stay valid.
    const swapped = replaceAt(replaceAt(text, b.start, bText.length, aText), a.start, aText.length, bText);
    mutations.push({ kind: 'swap two values', at: `values #${i} and #${j}`, text: swapped, expect: ['DECRYPTION_FAILED', 'MAC_MISMATCH'] });
    mutations.push({ kind: 'move a value to another key path', at: `value #${i} over #${j}`, text: replaceAt(text, b.start, bText.length, aText), expect: ['DECRYPTION_FAILED', 'MAC_MISMATCH'] });
  }
  return mutations;
}

/** Cuts the file at `count` points spread over its length, plus at every line end of the last 40 lines. */
export function truncations(text: string, count: number): Mutation[] {
  const points = new Set<number>();
  for (let i = 0; i < count; i++) points.add(Math.floor((text.length * i) / count));
  const lineEnds = [...text.matchAll(/\n/g)].map((match) => match.index);
  for (const end of lineEnds.slice(-40)) points.add(end);
  points.add(text.length - 1);
  return [...points].filter((point) => point < text.length).map((point) => ({ kind: 'truncate', at: `at byte ${point} of ${text.length}`, text: text.slice(0, point), expect: TRUNCATION_DETECTED }));
}

/** Changes of `lastmodified`: each field moved, an invalid form, and an equivalent form of the same instant. */
export function lastModifiedMutations(text: string): Mutation[] {
  const match = /(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z/.exec(text);
  if (!match) throw new Error('no lastmodified in the file');
  const stamp = match[0];
  const at = match.index;
  const mutations: Mutation[] = [];
  const fields = ['year', 'month', 'day', 'hour', 'minute', 'second'];
  const offsets = [0, 5, 8, 11, 14, 17];
  fields.forEach((field, index) => {
    const offset = offsets[index] ?? 0;
    const digit = Number(stamp[offset + 1]);
    const moved = replaceAt(stamp, offset + 1, 1, String(digit === 0 ? 1 : digit - 1));
    mutations.push({ kind: `lastmodified ${field} changed`, at: field, text: replaceAt(text, at, stamp.length, moved), expect: ['MAC_MISMATCH'] });
  });
  mutations.push({ kind: 'lastmodified not a timestamp', at: 'lastmodified', text: replaceAt(text, at, stamp.length, 'yesterday'), expect: ['METADATA_INVALID'] });
  // The same instant written differently: the MAC's AAD is the normalised form, so this is harmless.
  mutations.push({ kind: 'lastmodified equivalent form', at: '+00:00', text: replaceAt(text, at, stamp.length, stamp.replace('Z', '+00:00')), expect: [] });
  mutations.push({ kind: 'lastmodified equivalent form', at: 'fraction', text: replaceAt(text, at, stamp.length, stamp.replace('Z', '.000Z')), expect: [] });
  return mutations;
}

/** Character flips inside each wrapped data key (the age armor), at `perKey` spread positions. */
export function wrappedDataKeyFlips(text: string, perKey: number, armor: 'AGE ENCRYPTED FILE' | 'PGP MESSAGE' = 'AGE ENCRYPTED FILE'): Mutation[] {
  const mutations: Mutation[] = [];
  const begin = `-----BEGIN ${armor}-----`;
  const end = `-----END ${armor}-----`;
  let from = 0;
  let index = 0;
  for (;;) {
    const start = text.indexOf(begin, from);
    if (start < 0) break;
    const stop = text.indexOf(end, start);
    const body = [...text.slice(start + begin.length, stop).matchAll(/[A-Za-z0-9+/]/g)].map((m) => start + begin.length + m.index);
    // Skip escape letters of a JSON or dotenv `\n` (the `n` after a backslash is not armor).
    const characters = body.filter((position) => text[position - 1] !== '\\');
    for (let i = 0; i < perKey; i++) {
      const position = characters[Math.floor((characters.length * i) / perKey)];
      if (position === undefined) continue;
      mutations.push({ kind: 'wrapped data key flip', at: `key #${index} @${position}`, text: replaceAt(text, position, 1, shifted(text[position] ?? 'A')), expect: DATA_KEY_DETECTED });
    }
    mutations.push({ kind: 'wrapped data key armor header damaged', at: `key #${index}`, text: replaceAt(text, start, begin.length, begin.replace('BEGIN', 'BEGiN')), expect: DATA_KEY_DETECTED });
    from = stop;
    index += 1;
  }
  return mutations;
}

// --- structural mutations through the store (store-independent) --------------------------------

function edit(text: string, store: StoreName, change: (document: StoreDocument) => void): string {
  const document = getStore(store).parse(text, 'mutated');
  change(document);
  return document.serialize();
}

function editMetadata(text: string, store: StoreName, change: (metadata: PlainMap) => void): string {
  return edit(text, store, (document) => {
    const metadata = document.readMetadata();
    if (!metadata) throw new Error('no metadata');
    change(metadata);
    document.writeMetadata(metadata);
  });
}

interface LeafInfo {
  path: string[];
  value: PlainValue;
  isList: boolean;
}

/** The map-keyed leaves of the first document (list items are reached through their list). */
function mapLeavesOf(text: string, store: StoreName): LeafInfo[] {
  const document = getStore(store).parse(text, 'mutated');
  document.removeMetadata();
  const first = document.toPlain()[0];
  const leaves: LeafInfo[] = [];
  const walk = (value: PlainValue, path: string[]) => {
    if (value instanceof Map) for (const [key, item] of value) walk(item, [...path, key]);
    else leaves.push({ path, value, isList: Array.isArray(value) });
  };
  walk(first ?? new Map(), []);
  return leaves;
}

const isEmptyOrNull = (value: PlainValue) => value === '' || value === null;
const isClear = (path: string[], value: PlainValue) => isEmptyOrNull(value) || (path.at(-1) ?? '').endsWith('_unencrypted');

export interface StructureOptions {
  store: StoreName;
  /** An older version of the same file (same data key), for replays. */
  older?: string;
}

/** Rename, drop and add keys, reorder, replay older values, shift bytes between clear values. */
export function structuralMutations(text: string, options: StructureOptions): Mutation[] {
  const { store } = options;
  const leaves = mapLeavesOf(text, store);
  const mutations: Mutation[] = [];
  const add = (kind: string, at: string, make: () => string, expect: readonly ErrorCode[], limitation?: string) => {
    mutations.push({ kind, at, text: make(), expect, ...(limitation ? { limitation } : {}) });
  };
  for (const leaf of leaves) {
    const at = leaf.path.join('.');
    const parent = leaf.path.slice(0, -1);
    const name = leaf.path.at(-1) ?? '';
    const limitation = isClear(leaf.path, leaf.value) ? (isEmptyOrNull(leaf.value) ? EMPTY_VALUES : UNENCRYPTED_KEYS) : undefined;
    add('drop a key', at, () => edit(text, store, (d) => d.deleteValue(leaf.path)), STRUCTURE_DETECTED, isEmptyOrNull(leaf.value) ? EMPTY_VALUES : undefined);
    add('rename a key', at, () => edit(text, store, (d) => {
      d.deleteValue(leaf.path);
      d.setValue([...parent, `${name}x`], leaf.value);
    }), STRUCTURE_DETECTED, limitation);
  }
  // Renaming a map that holds values changes every AAD under it.
  const parents = [...new Set(leaves.filter((leaf) => leaf.path.length > 1).map((leaf) => leaf.path[0] ?? ''))];
  for (const name of parents) {
    add('rename a parent key', name, () => edit(text, store, (d) => {
      const value = d.getValue([name]);
      d.deleteValue([name]);
      if (value !== undefined) d.setValue([`${name}x`], value);
    }), STRUCTURE_DETECTED);
  }
  const top = leaves[0]?.path.slice(0, -1) ?? [];
  add('add a plaintext key', 'clear text', () => edit(text, store, (d) => d.setValue([...top, 'injected'], 'clear-text')), ['VALUE_NOT_ENCRYPTED']);
  add('add a plaintext key', 'unencrypted suffix', () => edit(text, store, (d) => d.setValue([...top, 'injected_unencrypted'], 'clear-text')), ['MAC_MISMATCH']);
  add('add a plaintext key', 'empty value', () => edit(text, store, (d) => d.setValue([...top, 'injected'], '')), [], EMPTY_VALUES);
  const encrypted = leaves.filter((leaf) => typeof leaf.value === 'string' && leaf.value.startsWith('ENC['));
  if (encrypted[0]) {
    const copied = encrypted[0].value;
    add('add a key with a copied ciphertext', encrypted[0].path.join('.'), () => edit(text, store, (d) => d.setValue([...top, 'injected'], copied)), ['DECRYPTION_FAILED']);
  }
  // Reorder: the MAC is over the values in file order.
  for (let i = 0; i + 1 < encrypted.length && i < 6; i++) {
    const a = encrypted[i];
    const b = encrypted[i + 1];
    if (!a || !b || a.path.slice(0, -1).join('.') !== b.path.slice(0, -1).join('.')) continue;
    add('reorder two keys', `${a.path.join('.')} <-> ${b.path.join('.')}`, () => edit(text, store, (d) => {
      d.deleteValue(a.path);
      d.setValue(a.path, a.value); // set appends: a moves after b (and after everything else in its map)
    }), ['MAC_MISMATCH']);
  }
  // Two clear values next to each other in MAC order: shift one character from the first to the second.
  for (let i = 0; i + 1 < leaves.length; i++) {
    const a = leaves[i];
    const b = leaves[i + 1];
    if (!a || !b || typeof a.value !== 'string' || typeof b.value !== 'string' || a.value.length < 2) continue;
    const unencrypted = (path: string[]) => (path.at(-1) ?? '').endsWith('_unencrypted');
    if (!unencrypted(a.path) || !unencrypted(b.path)) continue;
    const [aValue, bValue] = [a.value, b.value];
    add('shift bytes between clear values', `${a.path.join('.')} -> ${b.path.join('.')}`, () => edit(text, store, (d) => {
      d.setValue(a.path, aValue.slice(0, -1));
      d.setValue(b.path, aValue.slice(-1) + bValue);
    }), ['MAC_MISMATCH'], MAC_CONCATENATION);
  }
  if (options.older) {
    const olderLeaves = new Map(mapLeavesOf(options.older, store).map((leaf) => [leaf.path.join('\u0000'), leaf.value]));
    for (const leaf of encrypted) {
      const old = olderLeaves.get(leaf.path.join('\u0000'));
      if (old === undefined || old === leaf.value) continue;
      add('replay an older value', leaf.path.join('.'), () => edit(text, store, (d) => d.setValue(leaf.path, old)), ['MAC_MISMATCH']);
    }
    const olderMetadata = getStore(store).parse(options.older, 'older').readMetadata();
    add('replay the older mac and lastmodified', 'sops', () => editMetadata(text, store, (m) => {
      m.set('mac', olderMetadata?.get('mac') ?? '');
      m.set('lastmodified', olderMetadata?.get('lastmodified') ?? '');
    }), ['MAC_MISMATCH']);
  }
  return mutations;
}

export interface RecipientOptions {
  store: StoreName;
  /** The key source our identity belongs to, and the field naming the recipient in its entries. */
  source: 'age' | 'pgp';
  /** Wraps a data key for our recipient (a fresh random data key stands in for an attacker's). */
  wrapForUs: (dataKey: Uint8Array) => Promise<PlainMap>;
  /** The recipient (age) or fingerprint (pgp) our key ring can unwrap. */
  ours: string;
  /** Someone else's age recipient, and an age entry wrapping a random data key for them. */
  stranger: string;
  strangerEntry: PlainMap;
}

function entriesOf(metadata: PlainMap, source: 'age' | 'pgp'): PlainMap[] {
  const list = metadata.get(source);
  if (!Array.isArray(list)) throw new Error(`no top-level ${source} list`);
  return list as PlainMap[];
}

/** Drop and add recipient stanzas, and changes to the other metadata fields. */
export async function metadataMutations(text: string, options: RecipientOptions): Promise<Mutation[]> {
  const { store, source } = options;
  const idField = source === 'age' ? 'recipient' : 'fp';
  const mutations: Mutation[] = [];
  const add = (kind: string, at: string, change: (metadata: PlainMap) => void, expect: readonly ErrorCode[]) =>
    mutations.push({ kind, at, text: editMetadata(text, store, change), expect });
  const entries = entriesOf(getStore(store).parse(text, 'f').readMetadata() ?? new Map(), source);
  const isOurs = (entry: PlainMap) => String(entry.get(idField) ?? '').toUpperCase() === options.ours.toUpperCase();
  entries.forEach((entry, index) => {
    add(isOurs(entry) ? 'drop our recipient stanza' : 'drop another recipient stanza', `${source}[${index}]`, (m) => m.set(source, entriesOf(m, source).filter((_e, i) => i !== index)), ['NO_MATCHING_IDENTITY', 'METADATA_INVALID']);
    add('change a recipient name', `${source}[${index}]`, (m) => entriesOf(m, source)[index]?.set(idField, source === 'age' ? options.stranger : '0000000000000000000000000000000000000000'), ['NO_MATCHING_IDENTITY', 'KEY_SOURCE_FAILED']);
  });
  const randomKey = () => crypto.getRandomValues(new Uint8Array(32));
  add('add a recipient stanza for a stranger', 'age[+]', (m) => {
    const list = m.get('age');
    m.set('age', [...(Array.isArray(list) ? list : []), options.strangerEntry]);
  }, []);
  // The recipients are public: anyone can wrap a key of their own for us. Values then fail to authenticate.
  const forged = await options.wrapForUs(randomKey());
  add('add a forged stanza for our recipient first', `${source}[0]`, (m) => m.set(source, [forged, ...entriesOf(m, source)]), ['DECRYPTION_FAILED', 'MAC_MISMATCH']);
  add('replace our stanza with a forged one', source, (m) => m.set(source, entriesOf(m, source).map((e) => (isOurs(e) ? forged : e))), ['DECRYPTION_FAILED', 'MAC_MISMATCH']);
  add('drop every recipient', source, (m) => m.delete(source), ['METADATA_INVALID']);
  add('drop the mac', 'mac', (m) => m.delete('mac'), ['MAC_MISSING']);
  add('empty the mac', 'mac', (m) => m.set('mac', ''), ['MAC_MISSING']);
  add('drop lastmodified', 'lastmodified', (m) => m.delete('lastmodified'), ['METADATA_INVALID']);
  add('drop version', 'version', (m) => m.delete('version'), ['METADATA_INVALID']);
  add('unsupported version', 'version', (m) => m.set('version', '4.0.0'), ['UNSUPPORTED_VERSION']);
  add('older 3.x version', 'version', (m) => m.set('version', '3.0.0'), []);
  add('turn on mac_only_encrypted', 'mac_only_encrypted', (m) => m.set('mac_only_encrypted', true), ['MAC_MISMATCH']);
  add('encrypt every key (empty suffix rule)', 'unencrypted_suffix', (m) => m.set('unencrypted_suffix', 'zzz_none'), ['VALUE_NOT_ENCRYPTED', 'MAC_MISMATCH']);
  add('encrypt no key (encrypted_regex matching nothing)', 'encrypted_regex', (m) => {
    m.delete('unencrypted_suffix');
    m.set('encrypted_regex', '^nothing-matches$');
  }, ['MAC_MISMATCH']);
  add('two selection rules', 'encrypted_regex', (m) => m.set('encrypted_regex', '.*'), ['METADATA_INVALID', 'VALUE_NOT_ENCRYPTED', 'MAC_MISMATCH']);
  add('shamir threshold on one group', 'shamir_threshold', (m) => m.set('shamir_threshold', 2n), ['METADATA_INVALID', 'NO_MATCHING_IDENTITY', 'DATA_KEY_INVALID']);
  return mutations;
}
