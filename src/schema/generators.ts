// New credentials from a CSPRNG (node:crypto), one generator per kind. Values are returned to the
// caller, which only ever writes them into an encrypted file; parameters that cannot produce a
// value are a USAGE error naming the parameter, checked before any randomness is drawn.
import { generateKeyPairSync, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { CofferError } from '../errors.js';
import type { PlainMap } from '../format/tree.js';
import type { CredentialKind, GenerateParameters } from './annotations.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const SYMBOLS = '!#$%&()*+,-./:;<=>?@[]^_{|}~';
/** Characters safe inside a URL's userinfo without escaping. */
const URL_SAFE_SYMBOLS = '-._~';
const MAX_LENGTH = 4096;

function impossible(where: string, reason: string): CofferError {
  return new CofferError('USAGE', `${where}: cannot generate: ${reason}`, {
    hints: ['fix the x-coffer.generate parameters in the schema (or the flags of `coffer generate`)'],
    data: { where },
  });
}

function checkRange(where: string, name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) throw impossible(where, `${name} must be a whole number from ${min} to ${max} (got ${chosen})`);
  return chosen;
}

/** `length` characters, uniformly from `alphabet`, with at least one from each of `required`. */
function drawCharacters(length: number, alphabet: string, required: readonly string[]): string {
  const chars = [...alphabet];
  for (;;) {
    let text = '';
    for (let index = 0; index < length; index++) text += chars[randomInt(chars.length)];
    // rejection keeps the distribution uniform over the strings that satisfy every class
    if (required.every((set) => [...text].some((char) => set.includes(char)))) return text;
  }
}

function generatePassword(where: string, parameters: GenerateParameters, symbols = SYMBOLS): string {
  const length = checkRange(where, 'length', parameters.length, 24, 1, MAX_LENGTH);
  if (parameters.alphabet !== undefined) {
    const alphabet = [...new Set(parameters.alphabet)].join('');
    if (alphabet.length < 2) throw impossible(where, 'the alphabet needs at least two different characters');
    return drawCharacters(length, alphabet, []);
  }
  const classes = [
    parameters.lower !== false ? LOWER : '',
    parameters.upper !== false ? UPPER : '',
    parameters.digits !== false ? DIGITS : '',
    parameters.symbols !== false ? symbols : '',
  ].filter(Boolean);
  if (classes.length === 0) throw impossible(where, 'every character class (lower, upper, digits, symbols) is turned off');
  if (length < classes.length) throw impossible(where, `length ${length} is shorter than the ${classes.length} character classes that must each appear`);
  // Short passwords with many required classes are retried; the odds are bounded by the checks above.
  return drawCharacters(length, classes.join(''), classes);
}

function generateToken(where: string, parameters: GenerateParameters): string {
  const length = checkRange(where, 'length', parameters.length, 40, 16, MAX_LENGTH);
  return `${parameters.prefix ?? ''}${drawCharacters(length, LOWER + UPPER + DIGITS, [])}`;
}

function pemPair(keys: { privateKey: string; publicKey: string }): PlainMap {
  return new Map([
    ['private_key', keys.privateKey],
    ['public_key', keys.publicKey],
  ]);
}

/** A new value of a credential kind: a string, or for key pairs a map with private_key and public_key. */
export function generateCredential(kind: CredentialKind, parameters: GenerateParameters = {}, where = 'value'): string | PlainMap {
  switch (kind) {
    case 'password':
      return generatePassword(where, parameters);
    case 'api-token':
      return generateToken(where, parameters);
    case 'hex':
      return randomBytes(checkRange(where, 'bytes', parameters.bytes, 32, 8, 1024)).toString('hex');
    case 'base64': {
      const bytes = randomBytes(checkRange(where, 'bytes', parameters.bytes, 32, 8, 1024));
      return parameters.urlSafe ? bytes.toString('base64url') : bytes.toString('base64');
    }
    case 'uuid':
      return randomUUID();
    case 'ed25519-key-pair':
      return pemPair(generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }));
    case 'rsa-key-pair': {
      const bits = checkRange(where, 'bits', parameters.bits, 3072, 2048, 8192);
      if (bits % 1024 !== 0) throw impossible(where, `bits must be a multiple of 1024 (got ${bits})`);
      return pemPair(generateKeyPairSync('rsa', { modulusLength: bits, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }));
    }
    case 'tls-private-key': {
      const curve = parameters.curve ?? 'P-256';
      if (curve !== 'P-256' && curve !== 'P-384') throw impossible(where, `curve must be P-256 or P-384 (got "${curve.slice(0, 20)}")`);
      return generateKeyPairSync('ec', { namedCurve: curve, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).privateKey;
    }
    case 'db-url': {
      const template = parameters.template;
      if (template === undefined || !template.includes('{password}')) throw impossible(where, 'db-url needs generate.template with a {password} placeholder');
      const password = generatePassword(where, { ...parameters, alphabet: undefined }, URL_SAFE_SYMBOLS);
      const url = template.replaceAll('{password}', password);
      try {
        new URL(url);
      } catch {
        throw impossible(where, 'generate.template is not a URL');
      }
      return url;
    }
    case 'opaque':
      throw impossible(where, 'kind "opaque" has no generator; set the value with `coffer set`');
  }
}
