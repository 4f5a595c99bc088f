// What a schema validates: a document's plain data as JSON values. Without keys each ENC[...]
// value stands in as a value of its `type:` (the only thing visible about it); with keys the
// decrypted values are used. Schema errors are mapped back to key paths for messages.
import type { ErrorObject } from 'ajv';
import { type PlainValue, TimeValue } from '../format/tree.js';

/** What an encrypted value of each type looks like to a keyless schema check. */
const TYPE_STAND_INS: Record<string, unknown> = { str: '', bytes: '', time: '', int: 0, float: 0.5, bool: false };
const ENCRYPTED_PREFIX = 'ENC[AES256_GCM,';

/**
 * The `type:` of an ENC[...] string, as /^ENC\[AES256_GCM,.*,type:([a-z]+)\]$/s would capture it
 * (the last `,type:` is the only candidate: [a-z]+ cannot contain another one), without the regex's
 * backtracking over the whole value, which cost more than the rest of the keyless instance.
 */
function encryptedType(value: string): string | undefined {
  if (!value.startsWith(ENCRYPTED_PREFIX) || !value.endsWith(']')) return undefined;
  const at = value.lastIndexOf(',type:');
  if (at < ENCRYPTED_PREFIX.length) return undefined;
  const type = value.slice(at + 6, -1);
  if (type === '') return undefined;
  for (let index = 0; index < type.length; index++) {
    const code = type.charCodeAt(index);
    if (code < 97 || code > 122) return undefined;
  }
  return type;
}

const utf8 = new TextDecoder();

/**
 * Plain data as JSON values. With `keyless`, an `ENC[...]` string becomes a stand-in of its type
 * (a string for str, 0 for int, 0.5 for float, false for bool) so `type` checks still apply.
 */
export function toInstance(value: PlainValue, keyless: boolean): unknown {
  if (typeof value === 'string') {
    if (!keyless || !value.startsWith('ENC[')) return value;
    const type = encryptedType(value);
    return type !== undefined && Object.hasOwn(TYPE_STAND_INS, type) ? TYPE_STAND_INS[type] : '';
  }
  if (value instanceof Map) {
    // a plain object as Object.fromEntries made it: a `__proto__` key stays an own key
    const object: Record<string, unknown> = {};
    for (const [key, item] of value) defineKey(object, key, toInstance(item, keyless));
    return object;
  }
  if (Array.isArray(value)) return value.map((item) => toInstance(item, keyless));
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof TimeValue) return value.text;
  if (value instanceof Uint8Array) return utf8.decode(value);
  return value;
}

function defineKey(object: Record<string, unknown>, key: string, item: unknown): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value: item, enumerable: true, writable: true, configurable: true });
  else object[key] = item;
}

/** A key path in dotted form, list indexes in brackets: `db.hosts[0].name`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? segment.replaceAll('.', '\\.') : `.${segment.replaceAll('.', '\\.')}`;
  }
  return text;
}

/** The key path segments of an ajv instancePath, given the instance (to tell list indexes from keys). */
function pathSegments(instance: unknown, pointer: string): (string | number)[] {
  const segments: (string | number)[] = [];
  let node = instance;
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      segments.push(Number(key));
      node = node[Number(key)];
    } else {
      segments.push(key);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return segments;
}

export interface SchemaViolation {
  /** Key path segments of the value or map the error is about. */
  path: (string | number)[];
  keyword: string;
  /** ajv's message, reworded for keys; never contains the value. */
  message: string;
  /** The schema location (`#/properties/db/required`). */
  schemaPath: string;
}

/** ajv errors as violations with key paths; an unknown or missing key is reported at that key. */
export function describeViolations(instance: unknown, errors: readonly ErrorObject[]): SchemaViolation[] {
  const seen = new Set<string>();
  const violations: SchemaViolation[] = [];
  for (const error of errors) {
    const path = pathSegments(instance, error.instancePath);
    const params = error.params as Record<string, unknown>;
    let message = error.message ?? 'is not valid';
    if (error.keyword === 'required') {
      path.push(String(params['missingProperty']));
      message = 'is required but missing';
    } else if (error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties') {
      path.push(String(params['additionalProperty'] ?? params['unevaluatedProperty']));
      message = 'is not allowed by the schema (unknown key)';
    } else if (error.keyword === 'type') {
      message = `must be ${String(params['type'])}`;
    } else if (error.keyword === 'propertyNames') {
      path.push(String(params['propertyName']));
      message = 'is not an allowed key name';
    }
    const key = `${formatPath(path)}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    violations.push({ path, keyword: error.keyword, message, schemaPath: error.schemaPath });
  }
  return violations;
}
