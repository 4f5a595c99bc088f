// Unencrypted SSH private keys: the `openssh-key-v1` format (ssh-keygen's default since 7.8) and
// PEM RSA/PKCS#8 keys. A passphrase-protected key is reported, never decrypted (that needs
// bcrypt_pbkdf, which node:crypto lacks). Loaded only with age-ssh.ts.

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { type Parsed, parseSshPublicKeyBlob, type SshPrivateKey, Truncated, WireReader, wireMpint, wireString } from './ssh-key.js';

const OPENSSH_BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const OPENSSH_END = '-----END OPENSSH PRIVATE KEY-----';
const MAGIC = 'openssh-key-v1\0';

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
