// SSH public keys as age knows them (the ssh-ed25519 and ssh-rsa recipient types): the OpenSSH
// public key line (`ssh-ed25519 AAAA... comment`) and the SSH wire format. Formats only, and all a
// recipient check needs; private keys are in ssh-private-key.ts, the age stanzas in age-ssh.ts
// (both loaded only when an SSH key is used).

import type { KeyObject } from 'node:crypto';

export type SshKeyType = 'ssh-ed25519' | 'ssh-rsa';

export interface SshPublicKey {
  type: SshKeyType;
  /** The SSH wire encoding (what the base64 field holds): age's tag and ssh-ed25519 tweak hash it. */
  wire: Uint8Array;
  /** ssh-ed25519: the 32-byte Ed25519 public key. */
  ed25519?: Uint8Array;
  /** ssh-rsa: modulus and exponent, big-endian without sign byte. */
  rsa?: { n: Uint8Array; e: Uint8Array };
}

export type SshPrivateKey =
  | { type: 'ssh-ed25519'; publicKey: SshPublicKey; /** the 32-byte Ed25519 seed */ seed: Uint8Array }
  | { type: 'ssh-rsa'; publicKey: SshPublicKey; privateKey: KeyObject };

/** A parse result: the key, or why it is not one (never quoting the input). */
export type Parsed<T> = { key: T } | { problem: string; passphrase?: true; unsupported?: true };

const SUPPORTED: readonly string[] = ['ssh-ed25519', 'ssh-rsa'] satisfies SshKeyType[];
/** age refuses smaller RSA keys. */
const MIN_RSA_BITS = 2048;

export class Truncated extends Error {}

/** Reads the SSH wire format (RFC 4251: uint32 lengths, strings, mpints); throws Truncated past the end. */
export class WireReader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset === this.bytes.length;
  }

  uint32(): number {
    if (this.offset + 4 > this.bytes.length) throw new Truncated();
    const value = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.offset, 4).readUInt32BE(0);
    this.offset += 4;
    return value;
  }

  string(): Uint8Array {
    const length = this.uint32();
    if (this.offset + length > this.bytes.length) throw new Truncated();
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  text(): string {
    return Buffer.from(this.string()).toString('latin1');
  }

  /** A non-negative mpint without its sign byte; undefined if negative or not minimal. */
  mpint(): Uint8Array | undefined {
    const value = this.string();
    if (value.length === 0) return value;
    if (value[0]! & 0x80) return undefined;
    if (value[0] === 0 && (value.length === 1 || !(value[1]! & 0x80))) return undefined;
    return value[0] === 0 ? value.subarray(1) : value;
  }
}

export function wireString(bytes: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

export function wireMpint(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  return wireString(value.length && value[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

function bitLength(bytes: Uint8Array): number {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return start === bytes.length ? 0 : (bytes.length - start) * 8 - Math.clz32(bytes[start]!) + 24;
}

/** Decodes a wire-format public key blob of a type age supports. */
export function parseSshPublicKeyBlob(wire: Uint8Array): Parsed<SshPublicKey> {
  const reader = new WireReader(wire);
  try {
    const type = reader.text();
    if (!SUPPORTED.includes(type)) return { problem: `${describeType(type)} keys cannot be age recipients (only ssh-ed25519 and ssh-rsa)`, unsupported: true };
    if (type === 'ssh-ed25519') {
      const ed25519 = reader.string();
      if (ed25519.length !== 32 || !reader.done) return { problem: 'the ssh-ed25519 key has a bad length' };
      return { key: { type, wire, ed25519 } };
    }
    const e = reader.mpint();
    const n = reader.mpint();
    if (!e || !n || !reader.done) return { problem: 'the ssh-rsa key is malformed' };
    if (bitLength(n) < MIN_RSA_BITS) return { problem: `the ssh-rsa key has ${bitLength(n)} bits; age needs at least ${MIN_RSA_BITS}` };
    return { key: { type: 'ssh-rsa', wire, rsa: { n, e } } };
  } catch (error) {
    if (error instanceof Truncated) return { problem: 'the key is truncated' };
    throw error;
  }
}

function describeType(type: string): string {
  return /^[\x21-\x7e]{1,64}$/.test(type) ? type : 'this kind of';
}

/** Strict standard base64 with padding, as OpenSSH writes it. */
function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : undefined;
}

/**
 * Parses an OpenSSH public key line, `type base64 [comment]` (the `.pub` file). The type word must
 * match the type inside the blob.
 */
export function parseSshPublicKey(line: string): Parsed<SshPublicKey> {
  const [type = '', base64] = line.trim().split(/\s+/);
  if (!/^(ssh|ecdsa|sk)-/.test(type)) return { problem: 'it is not an ssh public key' };
  if (!SUPPORTED.includes(type)) return { problem: `${describeType(type)} keys cannot be age recipients (only ssh-ed25519 and ssh-rsa)`, unsupported: true };
  if (base64 === undefined) return { problem: 'the key data after the type is missing' };
  const wire = decodeBase64(base64);
  if (!wire) return { problem: 'the key data is not valid base64' };
  const parsed = parseSshPublicKeyBlob(wire);
  if ('key' in parsed) return parsed.key.type === type ? parsed : { problem: `the key data holds an ${parsed.key.type} key, not ${type}` };
  // the blob's own complaint, but never "cannot be age recipients" for a type word that can
  return parsed.unsupported ? { problem: `the key data does not hold an ${type} key` } : { problem: parsed.problem };
}

/** True if the bytes look like an SSH private key file (not an age key file). */
export function isSshPrivateKeyText(text: string): boolean {
  return /^\s*-----BEGIN (OPENSSH|RSA|EC|DSA|ENCRYPTED)? ?PRIVATE KEY-----/.test(text);
}

/** `type base64` of a public key, without the comment: how an identity names its recipient. */
export function formatSshPublicKey(key: SshPublicKey): string {
  return `${key.type} ${Buffer.from(key.wire).toString('base64')}`;
}
