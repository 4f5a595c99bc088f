// Encrypts and decrypts every leaf of a store document, computing the MAC on the way, and keeps
// unchanged values' ciphertext byte-identical across rewrites (the stash).
import { CofferError } from '../errors.js';
import { looksEncrypted, parseEncryptedValue } from '../format/encrypted-value.js';
import { additionalDataOf } from '../format/key-path.js';
import { MacAccumulator } from '../format/mac.js';
import type { LeafSelector } from '../format/selection.js';
import type { Leaf, ScalarValue, StoreDocument } from '../format/tree.js';
import { decodePlaintext, encodePlaintext, type ValueType, valueTypeOf } from '../format/values.js';
import { decryptValue, encryptValue } from './aes-gcm.js';

/**
 * Remembers each decrypted value's ciphertext by (key path, type, plaintext). Re-encrypting the
 * same plaintext at the same key path under the same data key reuses it verbatim, so a rewrite
 * changes only the lines whose values changed. Entries are consumed in file order, so two equal
 * values in one list keep their own ciphertexts.
 */
export class ValueStash {
  private readonly entries = new Map<string, string[]>();

  private static keyOf(aad: string, type: ValueType, plaintext: Uint8Array): string {
    return `${type}\u0000${aad}\u0000${Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).toString('latin1')}`;
  }

  remember(aad: string, type: ValueType, plaintext: Uint8Array, ciphertext: string): void {
    const key = ValueStash.keyOf(aad, type, plaintext);
    const list = this.entries.get(key);
    if (list) list.push(ciphertext);
    else this.entries.set(key, [ciphertext]);
  }

  /** An independent copy: taking from it leaves this stash as it is. */
  clone(): ValueStash {
    const copy = new ValueStash();
    for (const [key, list] of this.entries) copy.entries.set(key, [...list]);
    return copy;
  }

  take(aad: string, type: ValueType, plaintext: Uint8Array): string | undefined {
    return this.entries.get(ValueStash.keyOf(aad, type, plaintext))?.shift();
  }
}

export interface TreeCipherOptions {
  dataKey: Uint8Array;
  isEncrypted: LeafSelector;
  macOnlyEncrypted: boolean;
  /** Names the file in error messages. */
  file: string;
}

function describeLeaf(file: string, leaf: Leaf): string {
  const path = leaf.keyPath.join('.') || '(top level)';
  return leaf.isComment ? `${file}: comment in ${path}` : `${file}: ${path}`;
}

/**
 * Decrypts the document in place and returns the MAC computed over its plaintext values. The
 * stash, when given, is filled so that a later `encryptTree` keeps unchanged ciphertexts.
 */
export function decryptTree(document: StoreDocument, options: TreeCipherOptions, stash?: ValueStash): string {
  const mac = new MacAccumulator(options.macOnlyEncrypted);
  document.mapLeaves((leaf) => {
    const { value } = leaf;
    if (value === null) return undefined;
    const selected = options.isEncrypted(leaf);
    if (leaf.isComment) {
      // Comments are outside the MAC; one that does not decrypt (files from old SOPS versions kept
      // them clear) stays as it is, as SOPS does.
      if (!selected || typeof value !== 'string' || !looksEncrypted(value)) return undefined;
      try {
        const aad = additionalDataOf(leaf.keyPath);
        const plaintext = decryptValue(parseEncryptedValue(value, describeLeaf(options.file, leaf)), options.dataKey, aad, '');
        stash?.remember(aad, 'comment', plaintext, value);
        return decodePlaintext(plaintext, 'comment');
      } catch {
        return undefined;
      }
    }
    if (!selected) {
      mac.add(encodePlaintext(value), false);
      return undefined;
    }
    const where = describeLeaf(options.file, leaf);
    if (typeof value !== 'string' || (value !== '' && !looksEncrypted(value))) {
      throw new CofferError('VALUE_NOT_ENCRYPTED', `${where}: value is in clear text but the file's rules say it must be encrypted`, {
        hints: ['someone added a plaintext value by hand: set it with `coffer set FILE PATH` instead', 'rename the key with the unencrypted suffix if it is meant to be public'],
        data: { file: options.file, keyPath: leaf.keyPath },
      });
    }
    if (value === '') return undefined; // SOPS never encrypts the empty string; it adds no MAC bytes
    const encrypted = parseEncryptedValue(value, where);
    const aad = additionalDataOf(leaf.keyPath);
    const plaintext = decryptValue(encrypted, options.dataKey, aad, where);
    const decoded = decodePlaintext(plaintext, encrypted.type);
    if (decoded === undefined || encrypted.type === 'comment') {
      throw new CofferError('MALFORMED_ENCRYPTED_VALUE', `${where}: decrypted value does not match its type "${encrypted.type}"`);
    }
    stash?.remember(aad, encrypted.type, plaintext, value);
    mac.add(plaintext, true);
    return decoded;
  });
  return mac.digest();
}

function encryptLeafValue(value: Exclude<ScalarValue, null>, type: ValueType, aad: string, options: TreeCipherOptions, stash?: ValueStash): { ciphertext: string; plaintext: Uint8Array } {
  const plaintext = encodePlaintext(value);
  const ciphertext = stash?.take(aad, type, plaintext) ?? encryptValue(plaintext, type, options.dataKey, aad);
  return { ciphertext, plaintext };
}

/** Encrypts the document in place and returns the MAC over its plaintext values. */
export function encryptTree(document: StoreDocument, options: TreeCipherOptions, stash?: ValueStash): string {
  const mac = new MacAccumulator(options.macOnlyEncrypted);
  document.mapLeaves((leaf) => {
    const { value } = leaf;
    if (value === null) return undefined;
    const selected = options.isEncrypted(leaf);
    if (leaf.isComment) {
      if (!selected || value === '') return undefined;
      return encryptLeafValue(String(value), 'comment', additionalDataOf(leaf.keyPath), options, stash).ciphertext;
    }
    if (!selected) {
      mac.add(encodePlaintext(value), false);
      return undefined;
    }
    if (value === '') return undefined;
    const type = valueTypeOf(value);
    const { ciphertext, plaintext } = encryptLeafValue(value, type, additionalDataOf(leaf.keyPath), options, stash);
    mac.add(plaintext, true);
    return ciphertext;
  });
  return mac.digest();
}

/** The stored form of the MAC: encrypted under the data key with `lastmodified` as AAD. */
export function encryptMac(mac: string, dataKey: Uint8Array, lastModifiedAad: string): string {
  return encryptValue(new TextEncoder().encode(mac), 'str', dataKey, lastModifiedAad);
}

/** Checks the stored MAC against the computed one; throws MAC_MISSING or MAC_MISMATCH. */
export function verifyMac(computedMac: string, storedMac: string, dataKey: Uint8Array, lastModifiedAad: string, file: string): void {
  const hints = [
    'the file was changed without its key (a hand edit, a bad merge, or tampering): check `git log -p FILE`',
    'to read it anyway, pass --ignore-mac (coffer will warn)',
  ];
  if (storedMac === '') {
    throw new CofferError('MAC_MISSING', `${file}: the file has no MAC`, { hints, data: { file } });
  }
  let stored: string;
  try {
    const plaintext = decryptValue(parseEncryptedValue(storedMac, `${file}: sops.mac`), dataKey, lastModifiedAad, `${file}: sops.mac`);
    stored = new TextDecoder().decode(plaintext);
  } catch (cause) {
    throw new CofferError('MAC_MISMATCH', `${file}: the MAC could not be decrypted (lastmodified or mac was changed)`, { hints, cause, data: { file } });
  }
  if (stored !== computedMac) {
    throw new CofferError('MAC_MISMATCH', `${file}: MAC mismatch: the values do not match the MAC (values were changed, swapped, added or removed)`, {
      hints,
      data: { file },
    });
  }
}
