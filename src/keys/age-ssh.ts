// The age recipient types for SSH keys (C2SP age spec, "ssh-ed25519" and "ssh-rsa"), natively on
// node:crypto. Loaded only when a file or the user has an SSH key, so age1 keys never pay for it.
//
//   -> ssh-rsa <tag>                 body: RSA-OAEP-SHA256(file key, label "age-encryption.org/v1/ssh-rsa")
//   -> ssh-ed25519 <tag> <share>     X25519 with the Ed25519 key mapped to Montgomery form, the shared
//                                    secret tweaked by a hash of the SSH key, then as in X25519
//
// The tag (first 4 bytes of SHA-256 of the SSH wire key) only says which key a stanza is for.

import { constants, createHash, createPublicKey, generateKeyPairSync, type KeyObject, privateDecrypt, publicEncrypt } from 'node:crypto';
import { CofferError } from '../errors.js';
import { AgeIdentity, x25519PrivateKey, x25519PublicBytes, x25519SharedSecret } from './age.js';
import { decodeRawBase64, encodeRawBase64, hkdf, openChaCha, sealChaCha, type Stanza } from './age-file.js';
import { formatSshPublicKey, type Parsed, type SshPrivateKey, type SshPublicKey } from './ssh-key.js';
import { parseSshPrivateKey } from './ssh-private-key.js';

const ED25519_LABEL = 'age-encryption.org/v1/ssh-ed25519';
const RSA_LABEL = Buffer.from('age-encryption.org/v1/ssh-rsa');
const ZERO_NONCE = new Uint8Array(12);
const EMPTY = new Uint8Array(0);

// Field arithmetic mod p = 2^255 - 19, only to map an Ed25519 public key to X25519 (once per recipient).
const P = 2n ** 255n - 19n;
const D = mod(-121665n * invert(121666n));

function mod(value: bigint): bigint {
  const result = value % P;
  return result < 0n ? result + P : result;
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

/** 1/x by Fermat; 0 for 0, like Go's edwards25519 field (so the identity point maps to u = 0). */
function invert(value: bigint): bigint {
  return power(value, P - 2n);
}

function littleEndian(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`);
}

function toLittleEndian(value: bigint): Uint8Array {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex').reverse();
}

/**
 * The X25519 public key of an Ed25519 public key: u = (1 + y) / (1 - y). Undefined if the bytes
 * are not a point on the curve (x^2 = (y^2 - 1) / (d y^2 + 1) has no root); non-canonical y is
 * accepted, as Go's edwards25519 does.
 */
export function ed25519ToX25519(publicKey: Uint8Array): Uint8Array | undefined {
  const bytes = Uint8Array.from(publicKey);
  bytes[31]! &= 0x7f;
  const y = mod(littleEndian(bytes));
  const y2 = (y * y) % P;
  const x2 = mod((y2 - 1n) * invert(mod(D * y2 + 1n)));
  if (x2 !== 0n && power(x2, (P - 1n) / 2n) !== 1n) return undefined;
  return toLittleEndian(mod((1n + y) * invert(mod(1n - y))));
}

/** The 6-character tag naming an SSH key in a stanza. */
export function sshTag(wire: Uint8Array): string {
  return encodeRawBase64(createHash('sha256').update(wire).digest().subarray(0, 4));
}

function rsaPublicKey(key: SshPublicKey): KeyObject {
  const { n, e } = key.rsa!;
  return createPublicKey({ key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') }, format: 'jwk' });
}

const oaep = (key: KeyObject) => ({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: RSA_LABEL });

/** X25519(tweak, shared): the ssh-ed25519 tweak binds the wrap key to the whole SSH key. */
function tweakSharedSecret(shared: Uint8Array, wire: Uint8Array): Buffer {
  const tweak = hkdf(EMPTY, wire, ED25519_LABEL);
  const tweaked = x25519SharedSecret(x25519PrivateKey(tweak), shared);
  if (!tweaked) throw new CofferError('DATA_KEY_INVALID', 'wrapped data key has an invalid ssh-ed25519 share');
  return tweaked;
}

/** Wraps a file key for an SSH recipient; `which` names the recipient in errors. */
export function wrapForSshRecipient(fileKey: Uint8Array, key: SshPublicKey, which: string): Stanza {
  const tag = sshTag(key.wire);
  if (key.type === 'ssh-rsa') {
    return { args: ['ssh-rsa', tag], body: publicEncrypt(oaep(rsaPublicKey(key)), fileKey) };
  }
  const theirs = ed25519ToX25519(key.ed25519!);
  const ephemeral = generateKeyPairSync('x25519');
  const share = x25519PublicBytes(ephemeral.privateKey);
  const shared = theirs && x25519SharedSecret(ephemeral.privateKey, theirs);
  if (!shared) {
    throw new CofferError('INVALID_RECIPIENT', `${which} is not valid: the ssh-ed25519 key is not a usable curve point`, {
      hints: ['copy the key again from the .pub file (`ssh-keygen -y -f KEY` prints it)'],
    });
  }
  const wrapKey = hkdf(tweakSharedSecret(shared, key.wire), Buffer.concat([share, theirs]), ED25519_LABEL);
  return { args: ['ssh-ed25519', tag, encodeRawBase64(share)], body: sealChaCha(wrapKey, ZERO_NONCE, fileKey) };
}

/** An SSH private key as an age identity: opens the stanzas tagged for its key. */
export class SshIdentityKey {
  readonly type: SshPrivateKey['type'];
  /** `type base64` of the public key (no comment). */
  readonly recipient: string;
  readonly #key: SshPrivateKey;
  readonly #tag: string;
  #x25519: { privateKey: KeyObject; publicKey: Uint8Array } | undefined;

  constructor(key: SshPrivateKey) {
    this.type = key.type;
    this.#key = key;
    this.recipient = formatSshPublicKey(key.publicKey);
    this.#tag = sshTag(key.publicKey.wire);
  }

  /** The file key, or undefined when the stanza is not for this key; DATA_KEY_INVALID when it is malformed. */
  unwrap(stanza: Stanza): Uint8Array | undefined {
    const key = this.#key;
    if (stanza.args[0] !== key.type) return undefined;
    if (key.type === 'ssh-rsa') {
      if (stanza.args.length !== 2) throw malformed('ssh-rsa');
      if (stanza.args[1] !== this.#tag) return undefined;
      try {
        return privateDecrypt(oaep(key.privateKey), stanza.body);
      } catch {
        return undefined;
      }
    }
    const share = stanza.args.length === 3 ? decodeRawBase64(stanza.args[2]!) : undefined;
    if (share?.length !== 32 || stanza.body.length !== 32) throw malformed('ssh-ed25519');
    if (stanza.args[1] !== this.#tag) return undefined;
    // Ed25519's secret scalar is the first half of SHA-512(seed); X25519 clamps it the same way
    this.#x25519 ??= (() => {
      const privateKey = x25519PrivateKey(createHash('sha512').update(key.seed).digest().subarray(0, 32));
      return { privateKey, publicKey: x25519PublicBytes(privateKey) };
    })();
    const shared = x25519SharedSecret(this.#x25519.privateKey, share);
    if (!shared) throw new CofferError('DATA_KEY_INVALID', 'wrapped data key has an invalid ssh-ed25519 share');
    const wrapKey = hkdf(tweakSharedSecret(shared, key.publicKey.wire), Buffer.concat([share, this.#x25519.publicKey]), ED25519_LABEL);
    return openChaCha(wrapKey, ZERO_NONCE, stanza.body);
  }
}

function malformed(type: string): CofferError {
  return new CofferError('DATA_KEY_INVALID', `wrapped data key has a malformed ${type} stanza`);
}

/** An SSH private key file as an age identity, or why it cannot be one (never quoting the key). */
export function parseSshIdentity(bytes: Uint8Array): { identity: AgeIdentity } | Exclude<Parsed<SshPrivateKey>, { key: SshPrivateKey }> {
  const parsed = parseSshPrivateKey(bytes);
  return 'key' in parsed ? { identity: AgeIdentity.fromSshKey(new SshIdentityKey(parsed.key)) } : parsed;
}
