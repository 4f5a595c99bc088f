// SSH keys as age knows them (the ssh-ed25519 and ssh-rsa recipient types): the OpenSSH public key
// line (`ssh-ed25519 AAAA... comment`), the SSH wire format, and unencrypted private keys in the
// `openssh-key-v1` format (and PEM RSA/PKCS#8, which ssh-keygen wrote before 7.8). Formats only:
// the age stanzas that use these keys are in age-ssh.ts.

import { createPrivateKey, type KeyObject } from 'node:crypto';

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
const OPENSSH_BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const OPENSSH_END = '-----END OPENSSH PRIVATE KEY-----';
const MAGIC = 'openssh-key-v1\0';
/** age refuses smaller RSA keys. */
const MIN_RSA_BITS = 2048;

class Truncated extends Error {}

/** Reads the SSH wire format (RFC 4251: uint32 lengths, strings, mpints); throws Truncated past the end. */
class WireReader {
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

function wireString(bytes: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

function wireMpint(bytes: Uint8Array): Buffer {
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

/** The wire form of an RSA public key (for PEM keys, which do not carry it). */
function rsaPublicWire(n: Uint8Array, e: Uint8Array): Uint8Array {
  return Buffer.concat([wireString(Buffer.from('ssh-rsa')), wireMpint(e), wireMpint(n)]);
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const bigint = (bytes: Uint8Array) => (bytes.length ? BigInt(`0x${Buffer.from(bytes).toString('hex')}`) : 0n);
function bigintBytes(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

/** Reads the unencrypted private section of an openssh-key-v1 file. */
function parseOpenSshSection(section: Uint8Array, publicBlob: Uint8Array): Parsed<SshPrivateKey> {
  const reader = new WireReader(section);
  const check = reader.uint32();
  if (reader.uint32() !== check) return { problem: 'the private key is corrupt (check bytes differ)' };
  const type = reader.text();
  const declared = parseSshPublicKeyBlob(publicBlob);
  if ('problem' in declared) return declared;
  const publicKey = declared.key;
  if (type !== publicKey.type) return { problem: 'the private key does not match its public key' };
  if (type === 'ssh-ed25519') {
    const pub = reader.string();
    const secret = reader.string();
    if (pub.length !== 32 || secret.length !== 64) return { problem: 'the ssh-ed25519 private key has a bad length' };
    if (!Buffer.from(pub).equals(Buffer.from(publicKey.ed25519!)) || !Buffer.from(secret.subarray(32)).equals(Buffer.from(pub))) {
      return { problem: 'the private key does not match its public key' };
    }
    return { key: { type, publicKey, seed: new Uint8Array(secret.subarray(0, 32)) } };
  }
  const [n, e, d, iqmp, p, q] = [reader.mpint(), reader.mpint(), reader.mpint(), reader.mpint(), reader.mpint(), reader.mpint()];
  if (!n || !e || !d || !iqmp || !p || !q) return { problem: 'the ssh-rsa private key is malformed' };
  if (!Buffer.from(n).equals(Buffer.from(publicKey.rsa!.n)) || !Buffer.from(e).equals(Buffer.from(publicKey.rsa!.e))) {
    return { problem: 'the private key does not match its public key' };
  }
  const [D, P, Q] = [bigint(d), bigint(p), bigint(q)];
  if (P < 2n || Q < 2n) return { problem: 'the ssh-rsa private key is malformed' };
  // OpenSSH stores no CRT exponents; a JWK needs them
  const jwk = {
    kty: 'RSA',
    n: base64url(n),
    e: base64url(e),
    d: base64url(d),
    p: base64url(p),
    q: base64url(q),
    dp: base64url(bigintBytes(D % (P - 1n))),
    dq: base64url(bigintBytes(D % (Q - 1n))),
    qi: base64url(iqmp),
  };
  try {
    return { key: { type, publicKey, privateKey: createPrivateKey({ key: jwk, format: 'jwk' }) } };
  } catch {
    return { problem: 'the ssh-rsa private key is malformed' };
  }
}

function parseOpenSsh(text: string): Parsed<SshPrivateKey> {
  const body = text.slice(text.indexOf(OPENSSH_BEGIN) + OPENSSH_BEGIN.length, text.indexOf(OPENSSH_END));
  const bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const reader = new WireReader(bytes);
  if (bytes.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return { problem: 'not an openssh-key-v1 private key' };
  reader.offset = MAGIC.length;
  const cipher = reader.text();
  const kdf = reader.text();
  reader.string(); // kdf options
  if (cipher !== 'none' || kdf !== 'none') return { problem: 'the ssh private key is passphrase-protected', passphrase: true };
  if (reader.uint32() !== 1) return { problem: 'the file holds more than one ssh key' };
  const publicBlob = reader.string();
  const section = reader.string();
  return parseOpenSshSection(section, publicBlob);
}

/** PEM keys (`BEGIN RSA PRIVATE KEY`, `BEGIN PRIVATE KEY`) through node's own parser. */
function parsePem(text: string): Parsed<SshPrivateKey> {
  if (/^Proc-Type:\s*4,ENCRYPTED/m.test(text) || text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    return { problem: 'the ssh private key is passphrase-protected', passphrase: true };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    return { problem: 'the PEM private key is malformed' };
  }
  const jwk = privateKey.export({ format: 'jwk' });
  if (privateKey.asymmetricKeyType === 'ed25519' && jwk.d && jwk.x) {
    const ed25519 = Buffer.from(jwk.x, 'base64url');
    const wire = Buffer.concat([wireString(Buffer.from('ssh-ed25519')), wireString(ed25519)]);
    return { key: { type: 'ssh-ed25519', publicKey: { type: 'ssh-ed25519', wire, ed25519 }, seed: Buffer.from(jwk.d, 'base64url') } };
  }
  if (privateKey.asymmetricKeyType === 'rsa' && jwk.n && jwk.e) {
    const parsed = parseSshPublicKeyBlob(rsaPublicWire(Buffer.from(jwk.n, 'base64url'), Buffer.from(jwk.e, 'base64url')));
    return 'problem' in parsed ? parsed : { key: { type: 'ssh-rsa', publicKey: parsed.key, privateKey } };
  }
  return { problem: `${privateKey.asymmetricKeyType ?? 'this kind of'} keys cannot be age identities (only ssh-ed25519 and ssh-rsa)`, unsupported: true };
}

/** True if the bytes look like an SSH private key file (not an age key file). */
export function isSshPrivateKeyText(text: string): boolean {
  return /^\s*-----BEGIN (OPENSSH|RSA|EC|DSA|ENCRYPTED)? ?PRIVATE KEY-----/.test(text);
}

/** Parses an SSH private key file; passphrase-protected keys are reported, never decrypted. */
export function parseSshPrivateKey(bytes: Uint8Array): Parsed<SshPrivateKey> {
  const text = Buffer.from(bytes).toString('latin1');
  try {
    if (text.includes(OPENSSH_BEGIN) && text.includes(OPENSSH_END)) return parseOpenSsh(text);
    if (/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(text)) return parsePem(text);
  } catch (error) {
    if (error instanceof Truncated) return { problem: 'the ssh private key is truncated' };
    throw error;
  }
  if (/^\s*(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+/.test(text)) return { problem: 'it is an ssh public key, not the private key' };
  return { problem: 'not an ssh private key (expected -----BEGIN OPENSSH PRIVATE KEY-----)' };
}

/** `type base64` of a public key, without the comment: how an identity names its recipient. */
export function formatSshPublicKey(key: SshPublicKey): string {
  return `${key.type} ${Buffer.from(key.wire).toString('base64')}`;
}
