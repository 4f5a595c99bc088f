// How a leaf value becomes plaintext bytes (for the cipher and the MAC) and back, as SOPS/Go does it.
import { CofferError } from '../errors.js';
import { type ScalarValue, TimeValue } from './tree.js';

export type ValueType = 'str' | 'int' | 'float' | 'bool' | 'bytes' | 'time' | 'comment';
export const VALUE_TYPES: readonly ValueType[] = ['str', 'int', 'float', 'bool', 'bytes', 'time', 'comment'];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that round-trips, in fixed
 * notation (JavaScript's `String` switches to exponents below 1e-6 and from 1e21).
 */
export function formatFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Object.is(value, -0)) return '-0';
  const shortest = String(value);
  const exponentAt = shortest.search(/e/i);
  if (exponentAt < 0) return shortest;
  const negative = shortest.startsWith('-');
  const mantissa = shortest.slice(negative ? 1 : 0, exponentAt);
  const exponent = Number(shortest.slice(exponentAt + 1));
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const pointAt = whole.length + exponent;
  let fixed: string;
  if (pointAt <= 0) fixed = `0.${'0'.repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) fixed = digits + '0'.repeat(pointAt - digits.length);
  else fixed = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return (negative ? '-' : '') + fixed;
}

/** Go's `strconv.ParseBool`. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** The SOPS type of a leaf value; null is never encrypted and has none. */
export function valueTypeOf(value: Exclude<ScalarValue, null>, isComment = false): ValueType {
  if (isComment) return 'comment';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'float';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof TimeValue) return 'time';
  return 'str'; // raw bytes of a binary file: SOPS writes them as type str
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The plaintext bytes of a value, as SOPS encrypts and MACs them. */
export function encodePlaintext(value: Exclude<ScalarValue, null>): Uint8Array {
  if (typeof value === 'string') return utf8.encode(value);
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new CofferError('UNSUPPORTED_VALUE', 'integer does not fit in 64 bits', {
        hints: ['quote the number to store it as a string'],
      });
    }
    return utf8.encode(value.toString());
  }
  if (typeof value === 'number') return utf8.encode(formatFloat(value));
  if (typeof value === 'boolean') return utf8.encode(value ? 'True' : 'False');
  if (value instanceof TimeValue) return utf8.encode(value.text);
  return value;
}

const RFC3339_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Turns decrypted plaintext back into a typed value; undefined when the bytes do not fit the type. */
export function decodePlaintext(bytes: Uint8Array, type: ValueType): ScalarValue | undefined {
  if (type === 'bytes') return bytes;
  let text: string;
  try {
    text = utf8Strict.decode(bytes);
  } catch {
    // Binary files hold raw bytes under type str.
    return type === 'str' ? bytes : undefined;
  }
  switch (type) {
    case 'str':
    case 'comment':
      return text;
    case 'int': {
      if (!/^[+-]?\d+$/.test(text)) return undefined;
      const parsed = BigInt(text);
      return parsed < INT64_MIN || parsed > INT64_MAX ? undefined : parsed;
    }
    case 'float': {
      if (text === 'NaN') return Number.NaN;
      if (/^[+]?Inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
      if (/^-Inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
      return Number(text);
    }
    case 'bool':
      return parseGoBool(text);
    case 'time':
      // Go's time.Parse(time.RFC3339): Date.parse alone would take "42" or "June 1".
      return !RFC3339_TIME.test(text) || Number.isNaN(Date.parse(text)) ? undefined : new TimeValue(text);
  }
}

/** The text of a scalar as scripts and environment variables want it: strings verbatim, Go-style numbers, true/false, null as empty. */
export function scalarText(value: ScalarValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatFloat(value);
  if (value instanceof TimeValue) return value.text;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}
