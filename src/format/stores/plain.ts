// Small operations on plain data shared by the stores.
import { CofferError } from '../../errors.js';
import { type PathSegment, type PlainMap, type PlainValue, type ScalarValue, TimeValue } from '../tree.js';
import { formatFloat as formatFloatText } from '../values.js';

export function isScalar(value: PlainValue): value is ScalarValue {
  return !(value instanceof Map) && !Array.isArray(value);
}

/** Deep copy; scalars are immutable except byte arrays, which are copied too. */
export function clonePlain(value: PlainValue): PlainValue {
  if (value instanceof Map) {
    const copy: PlainMap = new Map();
    for (const [key, child] of value) copy.set(key, clonePlain(child));
    return copy;
  }
  if (Array.isArray(value)) return value.map(clonePlain);
  if (value instanceof Uint8Array) return value.slice();
  return value;
}

export function describePath(path: readonly PathSegment[]): string {
  return path.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `["${segment}"]`)).join('');
}

export function invalidPath(path: readonly PathSegment[], reason: string): CofferError {
  return new CofferError('INVALID_KEY_PATH', `key path ${describePath(path)}: ${reason}`, {
    data: { path: [...path] },
  });
}

/** The text of a scalar in a store that only holds strings (dotenv, INI, flattened metadata). */
export function scalarText(value: ScalarValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return '';
  if (value instanceof TimeValue) return value.text;
  if (value instanceof Uint8Array) {
    throw new CofferError('UNSUPPORTED_VALUE', 'raw bytes can only be stored in a binary file');
  }
  return formatFloatText(value);
}

/** A copy of the `sops` entry as a map; any other shape is invalid metadata. */
export function readMetadataValue(value: PlainValue | undefined): PlainMap | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Map)) {
    throw new CofferError('METADATA_INVALID', 'the sops metadata entry is not a map');
  }
  return clonePlain(value) as PlainMap;
}
