// The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` grammar (sops-format.md section 2).
import { CofferError } from '../errors.js';
import { VALUE_TYPES, type ValueType } from './values.js';

export interface EncryptedValue {
  data: Uint8Array;
  /** 32 bytes for values SOPS writes; other lengths are accepted on read as SOPS does. */
  iv: Uint8Array;
  tag: Uint8Array;
  type: ValueType;
}

const ENCRYPTED_VALUE = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/s;
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True when a string claims to be an encrypted value (it may still be malformed). */
export function looksEncrypted(text: string): boolean {
  return text.startsWith('ENC[');
}

function decodeBase64Field(field: string, name: string, where: string): Uint8Array {
  // Go's StdEncoding: standard alphabet, padded. URL-safe or unpadded input is rejected as SOPS does.
  if (!STD_BASE64.test(field)) {
    throw new CofferError('MALFORMED_ENCRYPTED_VALUE', `${where}: the ${name} field of the encrypted value is not valid base64`, {
      hints: ['the file was damaged or edited by hand; restore it from git (`git checkout -- FILE`)'],
    });
  }
  return Buffer.from(field, 'base64');
}

/** Parses an `ENC[...]` string; `where` names the file and key path for the error message. */
export function parseEncryptedValue(text: string, where: string): EncryptedValue {
  const match = ENCRYPTED_VALUE.exec(text);
  if (!match) {
    throw new CofferError('MALFORMED_ENCRYPTED_VALUE', `${where}: the value is not a well-formed ENC[AES256_GCM,...] string`, {
      hints: ['the file was damaged or edited by hand; restore it from git (`git checkout -- FILE`)'],
    });
  }
  const [, data = '', iv = '', tag = '', type = ''] = match;
  if (!(VALUE_TYPES as readonly string[]).includes(type)) {
    throw new CofferError('MALFORMED_ENCRYPTED_VALUE', `${where}: unknown value type "${type.slice(0, 20)}"`, {
      hints: ['known types are str, int, float, bool, bytes, time and comment'],
    });
  }
  const parsed: EncryptedValue = {
    data: decodeBase64Field(data, 'data', where),
    iv: decodeBase64Field(iv, 'iv', where),
    tag: decodeBase64Field(tag, 'tag', where),
    type: type as ValueType,
  };
  if (parsed.tag.length !== 16) {
    throw new CofferError('MALFORMED_ENCRYPTED_VALUE', `${where}: the tag of the encrypted value is not 16 bytes`, {
      hints: ['the file was damaged or edited by hand; restore it from git (`git checkout -- FILE`)'],
    });
  }
  if (parsed.iv.length === 0) {
    throw new CofferError('MALFORMED_ENCRYPTED_VALUE', `${where}: the iv of the encrypted value is empty`);
  }
  return parsed;
}

export function formatEncryptedValue(value: EncryptedValue): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return `ENC[AES256_GCM,data:${b64(value.data)},iv:${b64(value.iv)},tag:${b64(value.tag)},type:${value.type}]`;
}
