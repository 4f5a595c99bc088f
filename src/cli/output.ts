// Rendering decrypted data for the terminal, pipes and other stores.
import { stringify } from 'yaml';
import { CofferError } from '../errors.js';
import { getStore } from '../format/stores/index.js';
import { type PlainValue, type ScalarValue, type StoreDocument, type StoreName, TimeValue } from '../format/tree.js';
import { scalarText as plainScalarText } from '../format/values.js';

/** The text of a scalar as `get` prints it: as in scripts, but a null reads `null`. */
export function scalarText(value: ScalarValue): string {
  return value === null ? 'null' : plainScalarText(value);
}

export function isScalar(value: PlainValue): value is ScalarValue {
  return !(value instanceof Map) && !Array.isArray(value);
}

/** Plain data as JSON-compatible values (maps keep their order as object keys mostly do). */
export function toJsonValue(value: PlainValue): unknown {
  if (value instanceof Map) {
    const object: Record<string, unknown> = {};
    for (const [key, item] of value) object[key] = toJsonValue(item);
    return object;
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof TimeValue) return value.text;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

function toYamlValue(value: PlainValue): unknown {
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [key, toYamlValue(item)]));
  if (Array.isArray(value)) return value.map(toYamlValue);
  if (value instanceof TimeValue) return value.text;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

/** A decrypted document in the requested store (a conversion drops comments, as SOPS does). */
export function renderDocument(plain: StoreDocument, outputStore: StoreName): string | Uint8Array {
  if (outputStore === 'binary') {
    const data = plain.getValue(['data']);
    if (data instanceof Uint8Array || typeof data === 'string') return data;
    throw new CofferError('UNSUPPORTED_VALUE', 'only a binary file (a single `data` value) can be written as binary output', {
      hints: ['choose --output-type yaml, json, dotenv or ini'],
    });
  }
  if (plain.store === outputStore) return plain.serialize();
  if (plain.store === 'binary') {
    const data = plain.getValue(['data']);
    return data instanceof Uint8Array ? data : scalarText((data ?? '') as ScalarValue);
  }
  return getStore(outputStore).fromPlain(plain.toPlain()).serialize();
}

/** A value extracted by `get` or `--extract`: scalars as text, maps and lists as YAML or JSON. */
export function renderValue(value: PlainValue, outputStore: StoreName | undefined): string | Uint8Array {
  if (isScalar(value)) {
    if (outputStore === 'json') return JSON.stringify(toJsonValue(value));
    return value instanceof Uint8Array ? value : scalarText(value);
  }
  if (outputStore === 'json') return `${JSON.stringify(toJsonValue(value), null, 2)}\n`;
  return stringify(toYamlValue(value), { indent: 4 });
}
