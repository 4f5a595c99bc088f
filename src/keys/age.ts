// age master keys: wrap a data key (or Shamir share) for an age recipient as a complete,
// ASCII-armored age v1 file, exactly as SOPS does, and unwrap it with age identities.
//
// The common case (X25519 identity, X25519 stanza) runs natively on node:crypto (~4 ms). SSH keys
// (ssh-ed25519, ssh-rsa) are native too, in age-ssh.ts, loaded only when one is used. Everything
// else (post-quantum, scrypt passphrases) goes through `age-encryption`, imported lazily because the
// import alone costs 50-60 ms.

import {
  type KeyObject,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
} from 'node:crypto';
import { inspect } from 'node:util';
import { CofferError } from '../errors.js';
import {
  armorAgeFile,
  dearmorAgeFile,
  decodeRawBase64,
  decryptPayload,
  encodeAgeFile,
  encodeRawBase64,
  hkdf,
  openChaCha,
  parseAgeHeader,
  sealChaCha,
  verifyHeaderMac,
  type AgeHeader,
  type Stanza,
} from './age-file.js';
import { decodeBech32, encodeBech32 } from './bech32.js';
import { parseSshPublicKey, type SshPublicKey } from './ssh-key.js';

const X25519_LABEL = 'age-encryption.org/v1/X25519';
const ZERO_NONCE = new Uint8Array(12);
// DER prefixes for a raw 32-byte X25519 key (OID 1.3.101.110).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export type AgeIdentityKind = 'x25519' | 'post-quantum' | 'plugin' | 'passphrase' | 'ssh-ed25519' | 'ssh-rsa';

/** An SSH private key that opens its own stanzas (age-ssh.ts's SshIdentityKey). */
export interface SshStanzaOpener {
  readonly type: 'ssh-ed25519' | 'ssh-rsa';
  /** `type base64` of its public key. */
  readonly recipient: string;
  unwrap(stanza: Stanza): Uint8Array | undefined;
}

/**
 * One age identity (private key or passphrase). The secret lives in a private field so that
 * logging, `inspect` or `JSON.stringify` of an identity never prints key material.
 */
export class AgeIdentity {
  readonly kind: AgeIdentityKind;
  /** The public recipient: `age1...` for X25519 identities, `ssh-ed25519 AAAA...` (no comment) for SSH keys. */
  readonly recipient: string | undefined;
  readonly #secret: string;
  readonly #privateKey: KeyObject | undefined;
  readonly #publicKey: Uint8Array | undefined;
  readonly #ssh: SshStanzaOpener | undefined;

  private constructor(kind: AgeIdentityKind, secret: string, scalar?: Uint8Array, ssh?: SshStanzaOpener) {
    this.kind = kind;
    this.#secret = secret;
    this.#ssh = ssh;
    this.recipient = ssh?.recipient;
    if (scalar) {
      this.#privateKey = x25519PrivateKey(scalar);
      this.#publicKey = x25519PublicBytes(this.#privateKey);
      this.recipient = encodeBech32('age', this.#publicKey);
    }
  }

  /** Parses `AGE-SECRET-KEY-1...`, `AGE-SECRET-KEY-PQ-1...` or `AGE-PLUGIN-...`; undefined if invalid. */
  static parse(text: string): AgeIdentity | undefined {
    if (text.startsWith('AGE-PLUGIN-')) return new AgeIdentity('plugin', text);
    const decoded = decodeBech32(text);
    if (!decoded || text !== text.toUpperCase() || decoded.bytes.length !== 32) return undefined;
    if (decoded.prefix === 'age-secret-key-' && text.startsWith('AGE-SECRET-KEY-1')) {
      return new AgeIdentity('x25519', text, decoded.bytes);
    }
    if (decoded.prefix === 'age-secret-key-pq-') return new AgeIdentity('post-quantum', text);
    return undefined;
  }

  /** An scrypt passphrase identity (age's `-p`). */
  static fromPassphrase(passphrase: string): AgeIdentity {
    return new AgeIdentity('passphrase', passphrase);
  }

  /** An SSH private key (`parseSshIdentity` in age-ssh.ts makes one from a key file). */
  static fromSshKey(key: SshStanzaOpener): AgeIdentity {
    return new AgeIdentity(key.type, '', undefined, key);
  }

  /** Native unwrap of an ssh-ed25519/ssh-rsa stanza: file key, undefined if not for this SSH key. */
  unwrapSshStanza(stanza: Stanza): Uint8Array | undefined {
    return this.#ssh?.unwrap(stanza);
  }

  /** Native X25519 unwrap of one stanza: file key, undefined if the stanza is not for us. */
  unwrapX25519Stanza(stanza: Stanza): Uint8Array | undefined {
    if (!this.#privateKey || !this.#publicKey) return undefined;
    const share = stanza.args.length === 2 ? decodeRawBase64(stanza.args[1]!) : undefined;
    if (share?.length !== 32 || stanza.body.length !== 32) {
      throw new CofferError('DATA_KEY_INVALID', 'wrapped data key has a malformed X25519 stanza');
    }
    const secret = x25519SharedSecret(this.#privateKey, share);
    if (!secret) throw new CofferError('DATA_KEY_INVALID', 'wrapped data key has an invalid X25519 share');
    const key = hkdf(secret, Buffer.concat([share, this.#publicKey]), X25519_LABEL);
    return openChaCha(key, ZERO_NONCE, stanza.body);
  }

  /** Hands the secret to age-encryption (the fallback path only). */
  addTo(decrypter: { addIdentity(s: string): void; addPassphrase(s: string): void }): void {
    if (this.kind === 'passphrase') decrypter.addPassphrase(this.#secret);
    else if (this.kind !== 'plugin' && !this.#ssh) decrypter.addIdentity(this.#secret);
  }

  toString(): string {
    return this.recipient ? `age ${this.kind} identity for ${this.recipient}` : `age ${this.kind} identity`;
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, recipient: this.recipient };
  }

  [inspect.custom](): string {
    return `AgeIdentity <${this.toString()}>`;
  }
}

export function x25519PrivateKey(scalar: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, scalar]), format: 'der', type: 'pkcs8' });
}

export function x25519PublicBytes(key: KeyObject): Uint8Array {
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** X25519; undefined for low-order points (an all-zero shared secret), which age rejects. */
export function x25519SharedSecret(privateKey: KeyObject, publicBytes: Uint8Array): Buffer | undefined {
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicBytes]), format: 'der', type: 'spki' });
    const secret = diffieHellman({ privateKey, publicKey });
    return secret.every((byte) => byte === 0) ? undefined : secret;
  } catch {
    return undefined;
  }
}

/** A scrypt passphrase recipient (never written by SOPS; useful for key files). */
export interface AgePassphraseRecipient {
  passphrase: string;
  /** log2 of the scrypt work factor; age's default is 18. */
  workFactor?: number;
}

export type AgeRecipientKind = 'x25519' | 'post-quantum' | 'tag' | 'ssh-ed25519' | 'ssh-rsa';

/** A validated recipient string. */
export interface ParsedAgeRecipient {
  kind: AgeRecipientKind;
  /** As given, trimmed (an SSH key keeps its comment, as SOPS stores it). */
  recipient: string;
  /** The X25519 public key, for `x25519`. */
  publicKey?: Uint8Array;
  /** The SSH public key, for `ssh-ed25519` and `ssh-rsa`. */
  sshKey?: SshPublicKey;
}

function invalidRecipient(position: number | undefined, reason: string, hints: string[] = []): CofferError {
  const which = position === undefined ? 'age recipient' : `age recipient #${position}`;
  return new CofferError('INVALID_RECIPIENT', `${which} is not valid: ${reason}`, {
    hints: hints.length ? hints : ['an age recipient looks like age1... (print one from a key file with `age-keygen -y`)'],
    data: position === undefined ? {} : { position },
  });
}

/**
 * Validates an age recipient string (trimmed, as SOPS stores it). `position` (1-based) names the
 * recipient in errors; the string itself is never echoed, since a pasted secret key may be in it.
 */
export function parseAgeRecipient(text: string, position?: number): ParsedAgeRecipient {
  const recipient = text.trim();
  if (/^AGE-(SECRET-KEY|PLUGIN)-/i.test(recipient)) {
    throw invalidRecipient(position, 'it is a secret key (identity), not a public recipient', [
      'pass the public key instead: `age-keygen -y key.txt` prints it; never share the secret key',
    ]);
  }
  if (/^(ssh|ecdsa|sk)-/.test(recipient)) {
    const parsed = parseSshPublicKey(recipient);
    if ('key' in parsed) return { kind: parsed.key.type, recipient, sshKey: parsed.key };
    if (parsed.unsupported) {
      throw new CofferError('UNSUPPORTED_KEY_SOURCE', `${position === undefined ? 'age recipient' : `age recipient #${position}`} is an ssh key age cannot use: ${parsed.problem}`, {
        hints: ['use an ssh-ed25519 key (`ssh-keygen -t ed25519`) or an age key (`coffer keygen`)'],
        data: position === undefined ? {} : { position },
      });
    }
    throw invalidRecipient(position, parsed.problem, ['an ssh recipient is the one line of a .pub file: ssh-ed25519 AAAA... [comment] (`ssh-keygen -y -f KEY` prints it)']);
  }
  if (!recipient.startsWith('age1')) throw invalidRecipient(position, 'it does not start with age1');
  const decoded = decodeBech32(recipient);
  if (!decoded) throw invalidRecipient(position, 'bad bech32 encoding or checksum');
  if (decoded.prefix === 'age' && decoded.bytes.length === 32) {
    return { kind: 'x25519', recipient, publicKey: decoded.bytes };
  }
  if (decoded.prefix === 'age1pq' && decoded.bytes.length === 1216) return { kind: 'post-quantum', recipient };
  if ((decoded.prefix === 'age1tag' && decoded.bytes.length === 33) || (decoded.prefix === 'age1tagpq' && decoded.bytes.length === 1249)) {
    return { kind: 'tag', recipient };
  }
  if (decoded.prefix.startsWith('age1')) {
    throw new CofferError('UNSUPPORTED_KEY_SOURCE', `${position === undefined ? 'age recipient' : `age recipient #${position}`} needs an age plugin; plugin recipients are not supported`, {
      hints: ['use an X25519 recipient (age1...) generated with `coffer keygen` or `age-keygen`'],
      data: position === undefined ? {} : { position },
    });
  }
  throw invalidRecipient(position, 'not an age public key');
}

/**
 * What identifies the key of a recipient: the text itself, but for an SSH key only `type base64`
 * (its comment is a label). An SSH identity's `recipient` has this form.
 */
export function ageRecipientKey(recipient: string): string {
  const text = recipient.trim();
  return /^(ssh|ecdsa|sk)-/.test(text) ? text.split(/\s+/).slice(0, 2).join(' ') : text;
}

function wrapX25519(fileKey: Uint8Array, publicKey: Uint8Array): Stanza {
  const ephemeral = generateKeyPairSync('x25519');
  const share = x25519PublicBytes(ephemeral.privateKey);
  const secret = x25519SharedSecret(ephemeral.privateKey, publicKey);
  if (!secret) throw new CofferError('INVALID_RECIPIENT', 'age recipient is a low-order point and cannot be used');
  const key = hkdf(secret, Buffer.concat([share, publicKey]), X25519_LABEL);
  return { args: ['X25519', encodeRawBase64(share)], body: sealChaCha(key, ZERO_NONCE, fileKey) };
}

/**
 * Wraps `dataKey` (32 bytes, or a 33-byte Shamir share) for one recipient: a complete armored
 * age v1 file with one stanza, as SOPS writes it. X25519 is native; others use age-encryption.
 */
export async function wrapForAgeRecipient(
  dataKey: Uint8Array,
  recipient: string | AgePassphraseRecipient,
  options: { position?: number } = {},
): Promise<string> {
  if (typeof recipient !== 'string') {
    const age = await import('age-encryption');
    const encrypter = new age.Encrypter();
    encrypter.setPassphrase(recipient.passphrase);
    if (recipient.workFactor !== undefined) encrypter.setScryptWorkFactor(recipient.workFactor);
    return age.armor.encode(await encrypter.encrypt(dataKey));
  }
  const parsed = parseAgeRecipient(recipient, options.position);
  if (parsed.kind === 'x25519') {
    const fileKey = randomBytes(16);
    return armorAgeFile(encodeAgeFile(fileKey, [wrapX25519(fileKey, parsed.publicKey!)], dataKey));
  }
  if (parsed.sshKey) {
    const { wrapForSshRecipient } = await import('./age-ssh.js');
    const fileKey = randomBytes(16);
    const which = options.position === undefined ? 'age recipient' : `age recipient #${options.position}`;
    return armorAgeFile(encodeAgeFile(fileKey, [wrapForSshRecipient(fileKey, parsed.sshKey, which)], dataKey));
  }
  const age = await import('age-encryption');
  const encrypter = new age.Encrypter();
  encrypter.addRecipient(parsed.recipient);
  return age.armor.encode(await encrypter.encrypt(dataKey));
}

export interface UnwrapOptions {
  /** `auto` (default): native for X25519, age-encryption for the rest. The others force one path (tests, benchmarks). */
  implementation?: 'auto' | 'native' | 'age-encryption';
}

/**
 * Unwraps an armored age file (a SOPS `enc` field) with the first identity that matches.
 * Returns undefined when no identity matches; throws DATA_KEY_INVALID when the file is malformed
 * or was modified (bad header MAC, payload authentication failure).
 */
export async function unwrapWithAgeIdentities(
  armored: string | Uint8Array,
  identities: readonly AgeIdentity[],
  options: UnwrapOptions = {},
): Promise<Uint8Array | undefined> {
  // a Uint8Array is a binary (unarmored) age file, e.g. a passphrase-protected key file
  const file = typeof armored === 'string' ? dearmorAgeFile(armored) : armored;
  const header = parseAgeHeader(file);
  const scrypt = header.stanzas.some((stanza) => stanza.args[0] === 'scrypt');
  if (scrypt && header.stanzas.length !== 1) {
    throw new CofferError('DATA_KEY_INVALID', 'wrapped data key mixes an scrypt stanza with other stanzas');
  }
  const implementation = options.implementation ?? 'auto';
  if (implementation !== 'age-encryption') {
    const dataKey = unwrapNatively(header, identities);
    if (dataKey || implementation === 'native') return dataKey;
  }
  // The fallback only runs when it can match something native could not.
  const others = identities.filter((identity) =>
    implementation === 'age-encryption'
      ? identity.kind !== 'plugin' && !identity.kind.startsWith('ssh-')
      : (identity.kind === 'passphrase' && scrypt) ||
        (identity.kind === 'post-quantum' && header.stanzas.some((stanza) => stanza.args[0] === 'mlkem768x25519')),
  );
  if (others.length === 0) return undefined;
  return unwrapWithAgeEncryption(file, others);
}

function unwrapNatively(header: AgeHeader, identities: readonly AgeIdentity[]): Uint8Array | undefined {
  for (const identity of identities) {
    const ssh = identity.kind === 'ssh-ed25519' || identity.kind === 'ssh-rsa';
    if (identity.kind !== 'x25519' && !ssh) continue;
    for (const stanza of header.stanzas) {
      if (!ssh && stanza.args[0] !== 'X25519') continue;
      const fileKey = ssh ? identity.unwrapSshStanza(stanza) : identity.unwrapX25519Stanza(stanza);
      if (!fileKey) continue;
      if (fileKey.length !== 16) throw new CofferError('DATA_KEY_INVALID', 'wrapped data key has a bad file key length');
      verifyHeaderMac(fileKey, header);
      return new Uint8Array(decryptPayload(fileKey, header.payload));
    }
  }
  return undefined;
}

async function unwrapWithAgeEncryption(file: Uint8Array, identities: AgeIdentity[]): Promise<Uint8Array | undefined> {
  const age = await import('age-encryption');
  const decrypter = new age.Decrypter();
  for (const identity of identities) identity.addTo(decrypter);
  try {
    return await decrypter.decrypt(file);
  } catch (error) {
    if (error instanceof Error && /no identity matched/.test(error.message)) return undefined;
    throw new CofferError('DATA_KEY_INVALID', 'wrapped data key could not be decrypted: the age file is malformed or was modified', {
      cause: error,
    });
  }
}

/** Generates a new X25519 identity and its recipient (natively; same format as `age-keygen`). */
export async function generateAgeIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = encodeBech32('AGE-SECRET-KEY-', randomBytes(32)).toUpperCase();
  return { identity, recipient: recipientOfIdentity(identity) };
}

/** The public recipient of an X25519 identity (`age-keygen -y`). */
export function recipientOfIdentity(identity: string): string {
  const parsed = AgeIdentity.parse(identity.trim());
  if (!parsed) throw new CofferError('USAGE', 'not a valid age identity (expected AGE-SECRET-KEY-1...)');
  if (!parsed.recipient) {
    throw new CofferError('UNSUPPORTED_KEY_SOURCE', `cannot derive the recipient of an age ${parsed.kind} identity`, {
      hints: ['use `age-keygen -y` for post-quantum and plugin identities'],
    });
  }
  return parsed.recipient;
}
