// Bech32 (BIP 173, not bech32m) for age recipients and identities, native so that the common
// X25519 path never imports age-encryption. Like age, no 90-character limit (post-quantum keys are long).

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) {
      if ((top >>> i) & 1) checksum ^= GENERATORS[i]!;
    }
  }
  return checksum >>> 0;
}

function expandPrefix(prefix: string): number[] {
  const result: number[] = [];
  for (let i = 0; i < prefix.length; i++) result.push(prefix.charCodeAt(i) >> 5);
  result.push(0);
  for (let i = 0; i < prefix.length; i++) result.push(prefix.charCodeAt(i) & 31);
  return result;
}

function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | undefined {
  let accumulator = 0;
  let bits = 0;
  const result: number[] = [];
  const mask = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    accumulator = (accumulator << from) | data[i]!;
    bits += from;
    while (bits >= to) {
      bits -= to;
      result.push((accumulator >>> bits) & mask);
    }
    accumulator &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) result.push((accumulator << (to - bits)) & mask);
  } else if (bits >= from || (accumulator << (to - bits)) & mask) {
    return undefined;
  }
  return result;
}

/** Encodes bytes as bech32 with the given human-readable prefix, lower case (as age does for recipients). */
export function encodeBech32(prefix: string, bytes: Uint8Array): string {
  const lowerPrefix = prefix.toLowerCase();
  const words = convertBits(bytes, 8, 5, true)!;
  const checksum = polymod([...expandPrefix(lowerPrefix), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  let result = `${lowerPrefix}1`;
  for (const word of words) result += CHARSET[word];
  for (let i = 0; i < 6; i++) result += CHARSET[(checksum >>> (5 * (5 - i))) & 31];
  return result;
}

/**
 * Decodes a bech32 string; undefined when it is not valid bech32 (mixed case, bad character,
 * bad checksum, bad padding). The prefix is returned lower case.
 */
export function decodeBech32(text: string): { prefix: string; bytes: Uint8Array } | undefined {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return undefined;
  const lower = text.toLowerCase();
  const separator = lower.lastIndexOf('1');
  if (separator < 1 || separator + 7 > lower.length) return undefined;
  const prefix = lower.slice(0, separator);
  for (let i = 0; i < prefix.length; i++) {
    const code = prefix.charCodeAt(i);
    if (code < 33 || code > 126) return undefined;
  }
  const words: number[] = [];
  for (const char of lower.slice(separator + 1)) {
    const word = CHARSET.indexOf(char);
    if (word < 0) return undefined;
    words.push(word);
  }
  if (polymod([...expandPrefix(prefix), ...words]) !== 1) return undefined;
  const bytes = convertBits(words.slice(0, -6), 5, 8, false);
  if (!bytes) return undefined;
  return { prefix, bytes: Uint8Array.from(bytes) };
}
