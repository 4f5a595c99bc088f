// AES-256-GCM per value, with SOPS's 32-byte IVs and the key path as additional authenticated data.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CofferError } from '../errors.js';
import { type EncryptedValue, formatEncryptedValue } from '../format/encrypted-value.js';
import type { ValueType } from '../format/values.js';

export const DATA_KEY_BYTES = 32;
const IV_BYTES = 32;
const utf8 = new TextEncoder();

export function generateDataKey(): Uint8Array {
  return new Uint8Array(randomBytes(DATA_KEY_BYTES));
}

export function assertDataKey(dataKey: Uint8Array): void {
  if (dataKey.length !== DATA_KEY_BYTES) {
    throw new CofferError('DATA_KEY_INVALID', `the data key is ${dataKey.length} bytes, expected ${DATA_KEY_BYTES}`, {
      hints: ['the wrapped data key in the sops metadata was damaged; restore the file from git'],
    });
  }
}

/** Encrypts one plaintext under the data key with a fresh random IV; returns the `ENC[...]` string. */
export function encryptValue(plaintext: Uint8Array, type: ValueType, dataKey: Uint8Array, aad: string, iv: Uint8Array = randomBytes(IV_BYTES)): string {
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(utf8.encode(aad));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return formatEncryptedValue({ data, iv, tag: cipher.getAuthTag(), type });
}

/**
 * Decrypts one parsed value. A wrong key, a wrong AAD (value moved to another key path) or any
 * changed byte fails the GCM tag check.
 */
export function decryptValue(value: EncryptedValue, dataKey: Uint8Array, aad: string, where: string): Uint8Array {
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, value.iv);
    decipher.setAAD(utf8.encode(aad));
    decipher.setAuthTag(value.tag);
    return new Uint8Array(Buffer.concat([decipher.update(value.data), decipher.final()]));
  } catch (cause) {
    throw new CofferError('DECRYPTION_FAILED', `${where}: the value failed authentication (tampered, or moved from another key path)`, {
      hints: ['restore the file from git (`git log -p FILE` shows who changed it)', 'if the file was merged by hand, re-create the value with `coffer set`'],
      cause,
    });
  }
}
