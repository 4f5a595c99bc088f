// Reading dotenvx-encrypted values (`encrypted:BASE64`) with the file's private key, for import.
// dotenvx uses eciesjs: ECIES over secp256k1. The payload is an ephemeral public key (65 bytes,
// uncompressed), a 16-byte AES-GCM nonce, the 16-byte tag and the ciphertext; the AES-256 key is
// HKDF-SHA256 (no salt, no info) over ephemeral public key || shared point.
import { createDecipheriv, createECDH, hkdfSync } from 'node:crypto';
import { CofferError } from '../errors.js';

export const DOTENVX_PREFIX = 'encrypted:';

const EPHEMERAL_KEY_BYTES = 65;
const NONCE_BYTES = 16;
const TAG_BYTES = 16;
// secp256k1 field prime; p ≡ 3 (mod 4), so a square root is a single exponentiation.
const FIELD_PRIME = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let factor = base % modulus;
  let rest = exponent;
  while (rest > 0n) {
    if (rest & 1n) result = (result * factor) % modulus;
    factor = (factor * factor) % modulus;
    rest >>= 1n;
  }
  return result;
}

function toBytes32(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
}

/**
 * node's ECDH gives only the shared point's x coordinate; eciesjs hashes the whole point. Both
 * y candidates are returned (uncompressed, then compressed as some eciesjs settings use); the
 * AES-GCM tag tells which one was meant.
 */
function sharedPointEncodings(x: Buffer): Buffer[] {
  const xValue = BigInt(`0x${x.toString('hex')}`);
  const y = modPow((xValue ** 3n + 7n) % FIELD_PRIME, (FIELD_PRIME + 1n) / 4n, FIELD_PRIME);
  const encodings: Buffer[] = [];
  for (const candidate of [y, FIELD_PRIME - y]) {
    encodings.push(Buffer.concat([Buffer.from([4]), x, toBytes32(candidate)]));
  }
  for (const prefix of [2, 3]) encodings.push(Buffer.concat([Buffer.from([prefix]), x]));
  return encodings;
}

export function isDotenvxValue(value: string): boolean {
  return value.startsWith(DOTENVX_PREFIX);
}

/** A dotenvx private key: 64 hex digits (a secp256k1 scalar). */
export function parseDotenvxPrivateKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(trimmed)) {
    throw new CofferError('USAGE', `${where}: a dotenvx private key is 64 hexadecimal digits`, {
      hints: ['copy DOTENV_PRIVATE_KEY from .env.keys, or pass --dotenvx-key-file .env.keys'],
    });
  }
  return Buffer.from(trimmed, 'hex');
}

/** Decrypts one `encrypted:...` value; `where` names the file and key for errors. */
export function decryptDotenvxValue(value: string, privateKey: Uint8Array, where: string): string {
  const payload = Buffer.from(value.slice(DOTENVX_PREFIX.length), 'base64');
  if (payload.length < EPHEMERAL_KEY_BYTES + NONCE_BYTES + TAG_BYTES || payload[0] !== 4) {
    throw new CofferError('MALFORMED_ENCRYPTED_VALUE', `${where}: not a dotenvx encrypted value (too short or no ephemeral key)`, { data: { where } });
  }
  const ephemeral = payload.subarray(0, EPHEMERAL_KEY_BYTES);
  const nonce = payload.subarray(EPHEMERAL_KEY_BYTES, EPHEMERAL_KEY_BYTES + NONCE_BYTES);
  const tag = payload.subarray(EPHEMERAL_KEY_BYTES + NONCE_BYTES, EPHEMERAL_KEY_BYTES + NONCE_BYTES + TAG_BYTES);
  const ciphertext = payload.subarray(EPHEMERAL_KEY_BYTES + NONCE_BYTES + TAG_BYTES);
  const ecdh = createECDH('secp256k1');
  let x: Buffer;
  try {
    ecdh.setPrivateKey(Buffer.from(privateKey));
    x = ecdh.computeSecret(ephemeral);
  } catch (cause) {
    throw new CofferError('MALFORMED_ENCRYPTED_VALUE', `${where}: the dotenvx value or private key is not a valid secp256k1 point`, { cause, data: { where } });
  }
  for (const shared of sharedPointEncodings(x)) {
    const key = Buffer.from(hkdfSync('sha256', Buffer.concat([ephemeral, shared]), Buffer.alloc(0), Buffer.alloc(0), 32));
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      // wrong encoding of the shared point (or wrong key): try the next one
    }
  }
  throw new CofferError('NO_MATCHING_IDENTITY', `${where}: the dotenvx private key does not decrypt this value`, {
    hints: ['use the DOTENV_PRIVATE_KEY line for this file (.env.production needs DOTENV_PRIVATE_KEY_PRODUCTION)'],
    data: { where },
  });
}

/** The variable dotenvx keeps a file's private key in: `.env.production` -> DOTENV_PRIVATE_KEY_PRODUCTION. */
export function privateKeyVariable(fileName: string): string {
  const match = /^\.env(?:\.(.+))?$/.exec(fileName);
  const suffix = match?.[1];
  return suffix ? `DOTENV_PRIVATE_KEY_${suffix.toUpperCase().replace(/[^A-Z0-9]/g, '_')}` : 'DOTENV_PRIVATE_KEY';
}
