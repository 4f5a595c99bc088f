// The age v1 file format (age-encryption.org/v1) with node:crypto only: ASCII armor, the header
// (stanzas + HMAC), and the STREAM payload. Used by the native X25519 fast path in age.ts; anything
// else falls back to age-encryption, which parses the same bytes itself.

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { CofferError } from '../errors.js';

const VERSION_LINE = 'age-encryption.org/v1';
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';
const CHUNK_SIZE = 64 * 1024;
const TAG_SIZE = 16;
const encoder = new TextEncoder();

/** One header stanza: `-> type args...` and its raw body. */
export interface Stanza {
  args: string[];
  body: Uint8Array;
}

export interface AgeHeader {
  stanzas: Stanza[];
  /** The header bytes the MAC covers: from the version line through `---`. */
  headerNoMac: Uint8Array;
  mac: Uint8Array;
  /** Everything after the header line feed: 16-byte nonce + encrypted chunks. */
  payload: Uint8Array;
}

function malformed(what: string): CofferError {
  return new CofferError('DATA_KEY_INVALID', `wrapped data key is not a valid age file: ${what}`, {
    hints: ['the `enc` field of this recipient was damaged; ask another recipient to run `coffer updatekeys`'],
  });
}

/** Strict unpadded base64 (age's RawStdEncoding): canonical, no `=`. */
export function decodeRawBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function encodeRawBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** True if the text looks armored (leading whitespace allowed, as age's armor reader does). */
export function isArmored(text: string): boolean {
  return text.trimStart().startsWith(ARMOR_BEGIN);
}

/** ASCII armor exactly as age and SOPS write it: 64-column standard base64, trailing newline. */
export function armorAgeFile(file: Uint8Array): string {
  const base64 = Buffer.from(file).toString('base64');
  const lines = [ARMOR_BEGIN];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  lines.push(ARMOR_END);
  return `${lines.join('\n')}\n`;
}

/** Removes the armor; surrounding whitespace and CRLF are accepted, the body is parsed strictly. */
export function dearmorAgeFile(armored: string): Uint8Array {
  const lines = armored.trim().replaceAll('\r\n', '\n').split('\n');
  if (lines.shift() !== ARMOR_BEGIN) throw malformed('missing armor header line');
  if (lines.pop() !== ARMOR_END) throw malformed('missing armor end line');
  if (lines.length === 0) throw malformed('empty armor');
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    if (last ? line.length === 0 || line.length > 64 || line.length % 4 !== 0 : line.length !== 64) {
      throw malformed(`armor line ${i + 2} has a bad length`);
    }
  });
  const base64 = lines.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw malformed('armor is not base64');
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.toString('base64') !== base64) throw malformed('armor is not canonical base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Parses the header of a binary age file; throws DATA_KEY_INVALID when it is malformed. */
export function parseAgeHeader(file: Uint8Array): AgeHeader {
  let offset = 0;
  const readLine = (): string => {
    const end = file.indexOf(0x0a, offset);
    if (end < 0) throw malformed('truncated header');
    const bytes = file.subarray(offset, end);
    for (const byte of bytes) {
      if (byte < 0x20 || byte > 0x7e) throw malformed('header has a non-printable byte');
    }
    offset = end + 1;
    return Buffer.from(bytes).toString('latin1');
  };
  if (readLine() !== VERSION_LINE) throw malformed('unknown version line');
  const stanzas: Stanza[] = [];
  for (;;) {
    const lineStart = offset;
    const line = readLine();
    if (line.startsWith('--- ')) {
      const mac = decodeRawBase64(line.slice(4));
      if (mac?.length !== 32) throw malformed('bad header MAC encoding');
      return {
        stanzas,
        headerNoMac: file.subarray(0, lineStart + 3),
        mac,
        payload: file.subarray(offset),
      };
    }
    if (!line.startsWith('-> ')) throw malformed('expected a stanza or the header MAC line');
    const args = line.slice(3).split(' ');
    if (args.some((arg) => arg.length === 0)) throw malformed('empty stanza argument');
    const chunks: Uint8Array[] = [];
    for (;;) {
      const bodyLine = readLine();
      const chunk = decodeRawBase64(bodyLine);
      if (!chunk || bodyLine.length > 64) throw malformed('bad stanza body');
      chunks.push(chunk);
      if (bodyLine.length < 64) break;
    }
    stanzas.push({ args, body: Buffer.concat(chunks) });
  }
}

/** The header bytes for `stanzas` up to and including `---` (what the MAC covers). */
export function encodeHeaderNoMac(stanzas: Stanza[]): Uint8Array {
  let text = `${VERSION_LINE}\n`;
  for (const stanza of stanzas) {
    text += `-> ${stanza.args.join(' ')}\n`;
    const body = encodeRawBase64(stanza.body);
    for (let i = 0; i < body.length; i += 64) text += `${body.slice(i, i + 64)}\n`;
    if (body.length % 64 === 0) text += '\n';
  }
  return encoder.encode(`${text}---`);
}

export function hkdf(key: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, info, 32));
}

function computeHeaderMac(fileKey: Uint8Array, headerNoMac: Uint8Array): Buffer {
  return createHmac('sha256', hkdf(fileKey, new Uint8Array(0), 'header')).update(headerNoMac).digest();
}

/** Throws DATA_KEY_INVALID unless the header MAC matches `fileKey` (proves the header is intact). */
export function verifyHeaderMac(fileKey: Uint8Array, header: AgeHeader): void {
  if (!timingSafeEqual(computeHeaderMac(fileKey, header.headerNoMac), header.mac)) {
    throw malformed('header MAC mismatch (the file was modified)');
  }
}

export function sealChaCha(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** ChaCha20-Poly1305 open; undefined when authentication fails. */
export function openChaCha(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_SIZE) return undefined;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  try {
    return Buffer.concat([plaintext, decipher.final()]);
  } catch {
    return undefined;
  }
}

function streamNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Decrypts the STREAM payload (nonce + 64 KiB chunks); throws DATA_KEY_INVALID if it was modified. */
export function decryptPayload(fileKey: Uint8Array, payload: Uint8Array): Buffer {
  if (payload.length < 16 + TAG_SIZE) throw malformed('payload is truncated');
  const key = hkdf(fileKey, payload.subarray(0, 16), 'payload');
  const body = payload.subarray(16);
  const chunkCount = Math.max(1, Math.ceil(body.length / (CHUNK_SIZE + TAG_SIZE)));
  const parts: Buffer[] = [];
  for (let i = 0; i < chunkCount; i++) {
    const sealed = body.subarray(i * (CHUNK_SIZE + TAG_SIZE), (i + 1) * (CHUNK_SIZE + TAG_SIZE));
    const last = i === chunkCount - 1;
    const plaintext = openChaCha(key, streamNonce(i, last), sealed);
    if (!plaintext) throw malformed('payload authentication failed (the file was modified)');
    if (last && plaintext.length === 0 && i > 0) throw malformed('payload ends with an empty chunk');
    parts.push(plaintext);
  }
  return Buffer.concat(parts);
}

/** A complete binary age file for `stanzas` wrapping `fileKey`, with `plaintext` as payload. */
export function encodeAgeFile(fileKey: Uint8Array, stanzas: Stanza[], plaintext: Uint8Array): Uint8Array {
  const headerNoMac = encodeHeaderNoMac(stanzas);
  const macLine = ` ${encodeRawBase64(computeHeaderMac(fileKey, headerNoMac))}\n`;
  const nonce = randomBytes(16);
  const key = hkdf(fileKey, nonce, 'payload');
  const parts: Uint8Array[] = [headerNoMac, encoder.encode(macLine), nonce];
  const chunkCount = Math.max(1, Math.ceil(plaintext.length / CHUNK_SIZE));
  for (let i = 0; i < chunkCount; i++) {
    const chunk = plaintext.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
    parts.push(sealChaCha(key, streamNonce(i, i === chunkCount - 1), chunk));
  }
  return Buffer.concat(parts);
}
