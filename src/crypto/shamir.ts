// Shamir secret sharing over GF(2^8), HashiCorp-Vault style, as SOPS uses it for key groups:
// per secret byte a random polynomial of degree T-1 whose constant term is that byte; share i holds
// the evaluations at x = i+1 followed by the single byte x.

import { randomBytes } from 'node:crypto';
import { CofferError } from '../errors.js';

// Log/exp tables for GF(2^8) with the AES reduction polynomial 0x11B and generator 3.
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
{
  let value = 1;
  for (let power = 0; power < 255; power++) {
    EXP[power] = value;
    EXP[power + 255] = value;
    LOG[value] = power;
    // multiply by the generator 3 = x + 1
    value ^= value << 1;
    if (value & 0x100) value ^= 0x11b;
  }
}

function multiply(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a]! + LOG[b]!]!;
}

function divide(a: number, b: number): number {
  if (b === 0) throw new CofferError('INTERNAL', 'shamir: division by zero');
  if (a === 0) return 0;
  return EXP[LOG[a]! + 255 - LOG[b]!]!;
}

/** Horner evaluation of coefficients[0] + coefficients[1]·x + ... */
function evaluate(coefficients: Uint8Array, x: number): number {
  let result = 0;
  for (let i = coefficients.length - 1; i >= 0; i--) {
    result = multiply(result, x) ^ coefficients[i]!;
  }
  return result;
}

/**
 * Splits `secret` into `shares` shares of which any `threshold` recombine it. Each share is
 * `secret.length + 1` bytes (33 for a data key). `random` is for known-answer tests only.
 */
export function splitSecret(
  secret: Uint8Array,
  shares: number,
  threshold: number,
  random: (size: number) => Uint8Array = randomBytes,
): Uint8Array[] {
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > 255) {
    throw new CofferError('USAGE', `shamir threshold must be between 2 and 255, got ${threshold}`, {
      hints: ['set shamir_threshold in .sops.yaml to at most the number of key groups'],
    });
  }
  if (!Number.isInteger(shares) || shares < threshold || shares > 255) {
    throw new CofferError(
      'USAGE',
      `shamir needs at least as many shares as the threshold (shares ${shares}, threshold ${threshold}, at most 255)`,
      { hints: ['add key groups or lower shamir_threshold'] },
    );
  }
  if (secret.length === 0) throw new CofferError('INTERNAL', 'shamir: cannot split an empty secret');

  const result = Array.from({ length: shares }, (_, i) => {
    const share = new Uint8Array(secret.length + 1);
    share[secret.length] = i + 1;
    return share;
  });
  const coefficients = new Uint8Array(threshold);
  for (let byte = 0; byte < secret.length; byte++) {
    coefficients[0] = secret[byte]!;
    coefficients.set(random(threshold - 1).subarray(0, threshold - 1), 1);
    for (let i = 0; i < shares; i++) {
      result[i]![byte] = evaluate(coefficients, i + 1);
    }
  }
  coefficients.fill(0);
  return result;
}

/**
 * Recombines shares made by {@link splitSecret} (Lagrange interpolation at x = 0). With fewer
 * shares than the threshold the result is a wrong secret, not an error: callers check the length
 * and the MAC tells.
 */
export function combineShares(shares: Uint8Array[]): Uint8Array {
  if (shares.length < 2) {
    throw new CofferError('DATA_KEY_INVALID', `shamir: need at least 2 shares to recombine the data key, got ${shares.length}`);
  }
  const length = shares[0]!.length;
  if (length < 2) throw new CofferError('DATA_KEY_INVALID', 'shamir: a share is too short');
  const xs: number[] = [];
  for (const share of shares) {
    if (share.length !== length) {
      throw new CofferError('DATA_KEY_INVALID', 'shamir: shares have different lengths');
    }
    const x = share[length - 1]!;
    if (x === 0) throw new CofferError('DATA_KEY_INVALID', 'shamir: a share has x coordinate 0');
    if (xs.includes(x)) throw new CofferError('DATA_KEY_INVALID', `shamir: two shares have the same x coordinate ${x}`);
    xs.push(x);
  }
  // Lagrange basis at 0 for each share: prod_j x_j / (x_i + x_j); addition is xor.
  const basis = xs.map((xi, i) => {
    let value = 1;
    xs.forEach((xj, j) => {
      if (i !== j) value = multiply(value, divide(xj, xi ^ xj));
    });
    return value;
  });
  const secret = new Uint8Array(length - 1);
  for (let byte = 0; byte < secret.length; byte++) {
    let value = 0;
    shares.forEach((share, i) => {
      value ^= multiply(share[byte]!, basis[i]!);
    });
    secret[byte] = value;
  }
  return secret;
}
