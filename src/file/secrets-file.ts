// The operations on one secrets file, from bytes to bytes: open (decrypt and verify), seal (write
// back with stable ciphertext), encrypt a new file, rotate the data key, update the recipients.
import { assertDataKey, generateDataKey } from '../crypto/aes-gcm.js';
import { decryptTree, encryptMac, encryptTree, ValueStash, verifyMac } from '../crypto/tree-cipher.js';
import { CofferError } from '../errors.js';
import {
  effectiveSelectionRule,
  FORMAT_VERSION,
  formatTimestamp,
  type Metadata,
  normaliseTimestamp,
  parseMetadata,
  serializeMetadata,
} from '../format/metadata.js';
import { createLeafSelector, DEFAULT_SELECTION_RULE, type SelectionRule } from '../format/selection.js';
import { getStore, parseBinary } from '../format/stores/index.js';
import type { StoreDocument, StoreName } from '../format/tree.js';
import type { KeyRing, RecipientPlan } from './key-ring.js';
import { recipientPlanOf } from './key-ring.js';

export interface SourceFile {
  /** The path, for messages (may be `-` for stdin). */
  file: string;
  store: StoreName;
  content: Uint8Array;
}

export interface OpenedFile {
  readonly file: string;
  readonly store: StoreName;
  /** The encrypted document as read; never modified. */
  readonly encrypted: StoreDocument;
  /** A decrypted copy; callers may modify it and pass it to `sealFile`. */
  readonly plain: StoreDocument;
  readonly metadata: Metadata;
  readonly dataKey: Uint8Array;
  readonly stash: ValueStash;
  /** False only when the MAC check was skipped with ignoreMac and failed. */
  readonly macVerified: boolean;
}

export interface OpenOptions {
  /**
   * The caller only reads the values (decrypt, get, exec): decrypt in place and skip the stash,
   * which saves a copy of the document and a map entry per value on large files.
   */
  readOnly?: boolean;
  /** Read the values even if the MAC does not match (the CLI warns loudly). */
  ignoreMac?: boolean;
  /** Reports a MAC failure that ignoreMac let through. */
  onIgnoredMacFailure?: (error: CofferError) => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Parses a file in its store; a plaintext binary file becomes a `data` document. */
export function parseDocument(source: SourceFile, plaintextAllowed: boolean): StoreDocument {
  if (source.store === 'binary' && plaintextAllowed) {
    const text = utf8.decode(source.content);
    try {
      const document = getStore('binary').parse(text, source.file);
      if (document.readMetadata()) return document;
    } catch {
      // not the JSON form of an encrypted binary file: the bytes are the plaintext
    }
    return parseBinary(source.content);
  }
  return getStore(source.store).parse(utf8.decode(source.content), source.file);
}

/** Reads the metadata, unwraps the data key, decrypts every value and checks the MAC. */
export async function openFile(source: SourceFile, keys: KeyRing, options: OpenOptions = {}): Promise<OpenedFile> {
  const text = utf8.decode(source.content);
  const parsed = getStore(source.store).parse(text, source.file);
  const metadata = parseMetadata(parsed.readMetadata(), source.file);
  const dataKey = await keys.unwrapDataKey(metadata, source.file);
  assertDataKey(dataKey);

  const plain = options.readOnly ? parsed : parsed.clone();
  plain.removeMetadata();
  const stash = new ValueStash();
  const computedMac = decryptTree(plain, cipherOptionsOf(metadata, dataKey, source.file), options.readOnly ? undefined : stash);
  // A read-only open decrypted the parsed document itself; the encrypted form is parsed again on demand.
  let encrypted: StoreDocument | undefined = options.readOnly ? undefined : parsed;
  const encryptedDocument = () => {
    encrypted ??= getStore(source.store).parse(text, source.file);
    return encrypted;
  };
  let macVerified = true;
  try {
    verifyMac(computedMac, metadata.mac, dataKey, normaliseTimestamp(metadata.lastModified, source.file), source.file);
  } catch (error) {
    if (!options.ignoreMac || !(error instanceof CofferError)) throw error;
    macVerified = false;
    options.onIgnoredMacFailure?.(error);
  }
  return {
    file: source.file,
    store: source.store,
    get encrypted() {
      return encryptedDocument();
    },
    plain,
    metadata,
    dataKey,
    stash,
    macVerified,
  };
}

function cipherOptionsOf(metadata: Metadata, dataKey: Uint8Array, file: string) {
  return {
    dataKey,
    isEncrypted: createLeafSelector(effectiveSelectionRule(metadata)),
    macOnlyEncrypted: metadata.macOnlyEncrypted,
    file,
  };
}

/** Writes a fresh `lastmodified` and the MAC (encrypted under it) into an encrypted document. */
function stampDocument(sealed: StoreDocument, metadata: Metadata, mac: string, dataKey: Uint8Array, now: Date): string {
  const lastModified = formatTimestamp(now);
  sealed.writeMetadata(serializeMetadata({ ...metadata, lastModified, mac: encryptMac(mac, dataKey, lastModified) }));
  return sealed.serialize();
}

function sealDocument(plain: StoreDocument, metadata: Metadata, dataKey: Uint8Array, file: string, now: Date): string {
  const sealed = plain.clone();
  const mac = encryptTree(sealed, cipherOptionsOf(metadata, dataKey, file));
  return stampDocument(sealed, metadata, mac, dataKey, now);
}

/**
 * Encrypts a modified plaintext document back with the file's data key. Unchanged values keep
 * their ciphertext; returns undefined when nothing changed at all, so the file stays byte-identical.
 */
export function sealFile(opened: OpenedFile, modified: StoreDocument, now = new Date()): string | undefined {
  const sealed = modified.clone();
  const mac = encryptTree(sealed, cipherOptionsOf(opened.metadata, opened.dataKey, opened.file), opened.stash.clone());
  // With the old metadata in both, equal text means no value or comment changed.
  const unchangedMetadata = serializeMetadata(opened.metadata);
  sealed.writeMetadata(unchangedMetadata);
  const original = opened.encrypted.clone();
  original.writeMetadata(unchangedMetadata);
  if (sealed.serialize() === original.serialize()) return undefined;
  return stampDocument(sealed, opened.metadata, mac, opened.dataKey, now);
}

export interface EncryptOptions {
  plan: RecipientPlan;
  selectionRule?: SelectionRule;
  macOnlyEncrypted?: boolean;
  now?: Date;
}

/** Refuses a document that already carries sops metadata: encrypting it again would nest files. */
export function assertPlaintext(document: StoreDocument, file: string): void {
  if (document.readMetadata() !== undefined) {
    throw new CofferError('ALREADY_ENCRYPTED', `${file}: the file is already encrypted (it has sops metadata)`, {
      hints: ['use `coffer edit` or `coffer set` to change it, `coffer updatekeys` for new recipients, `coffer rotate` for a new data key'],
    });
  }
}

/** Encrypts a plaintext document as a new SOPS file under a fresh data key. */
export async function encryptDocument(plain: StoreDocument, file: string, keys: KeyRing, options: EncryptOptions): Promise<string> {
  assertPlaintext(plain, file);
  const dataKey = generateDataKey();
  const wrapped = await keys.wrapDataKey(dataKey, options.plan);
  const metadata: Metadata = {
    keyGroups: wrapped.keyGroups,
    shamirThreshold: wrapped.shamirThreshold,
    lastModified: '',
    mac: '',
    // Binary files store no rule, as SOPS does.
    storedSelectionRule: plain.store === 'binary' ? undefined : (options.selectionRule ?? DEFAULT_SELECTION_RULE),
    macOnlyEncrypted: options.macOnlyEncrypted ?? false,
    version: FORMAT_VERSION,
  };
  return sealDocument(plain, metadata, dataKey, file, options.now ?? new Date());
}

/** A new data key for the same (or a new) recipient set: every value re-encrypted with fresh IVs. */
export async function rotateDataKey(opened: OpenedFile, keys: KeyRing, plan: RecipientPlan = recipientPlanOf(opened.metadata), now = new Date()): Promise<string> {
  const foreign = plan.groups.flatMap((group) => [...(group.preserved?.keys() ?? [])]);
  if (foreign.length > 0) {
    // Their entries wrap the old data key; keeping them would leave a key that unwraps nothing useful.
    throw new CofferError('UNSUPPORTED_KEY_SOURCE', `${opened.file}: cannot rotate: the data key is also wrapped for ${[...new Set(foreign)].join(', ')}, which coffer cannot wrap for`, {
      hints: ['rotate this file with sops, or move its recipients to age keys first'],
    });
  }
  const dataKey = generateDataKey();
  const wrapped = await keys.wrapDataKey(dataKey, plan);
  const metadata: Metadata = { ...opened.metadata, keyGroups: wrapped.keyGroups, shamirThreshold: wrapped.shamirThreshold };
  return sealDocument(opened.plain, metadata, dataKey, opened.file, now);
}

/**
 * The same data key wrapped for a new recipient set. Values, `lastmodified` and the MAC are
 * untouched, as with `sops updatekeys`. Returns undefined when the recipients are already those.
 */
export async function updateRecipients(opened: OpenedFile, keys: KeyRing, plan: RecipientPlan): Promise<string | undefined> {
  const current = recipientPlanOf(opened.metadata);
  if (sameRecipients(current, plan)) return undefined;
  const wrapped = await keys.wrapDataKey(opened.dataKey, plan);
  const document = opened.encrypted.clone();
  document.writeMetadata(serializeMetadata({ ...opened.metadata, keyGroups: wrapped.keyGroups, shamirThreshold: wrapped.shamirThreshold }));
  return document.serialize();
}

function sameRecipients(a: RecipientPlan, b: RecipientPlan): boolean {
  const normalise = (plan: RecipientPlan) =>
    JSON.stringify({
      groups: plan.groups.map((group) => ({ age: [...group.age].sort(), pgp: group.pgp.map((fp) => fp.toUpperCase()).sort() })),
      threshold: plan.groups.length > 1 ? plan.shamirThreshold || plan.groups.length : 0,
    });
  return normalise(a) === normalise(b);
}
