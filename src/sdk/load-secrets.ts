// The runtime SDK: decrypt secrets files into a plain object in memory (never onto disk), with a
// cache so that a server asking on every request decrypts each file once per change.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CofferError } from '../errors.js';
import { type DecryptFileOptions, decryptFile } from '../file/load.js';
import { type PlainValue, TimeValue } from '../format/tree.js';

export interface LoadSecretsOptions extends DecryptFileOptions {
  /**
   * Keep decrypted files in memory, keyed by path, size and modification time, so a changed file
   * is decrypted again (default true). Each call still returns its own copy.
   */
  cache?: boolean;
}

/** What a secrets file decrypts to when no generated type is given. */
export type SecretsObject = { [key: string]: SecretsValue };
export type SecretsValue = string | number | bigint | boolean | null | SecretsValue[] | SecretsObject;

interface CacheEntry {
  size: number;
  mtimeMs: number;
  data: Promise<SecretsObject>;
}

const cache = new Map<string, CacheEntry>();

/** Plain data as JS values: maps become objects, ints numbers (bigint beyond 2^53), times strings. */
function toSecretsValue(value: PlainValue): SecretsValue {
  if (value instanceof Map) {
    const object: SecretsObject = {};
    for (const [key, item] of value) object[key] = toSecretsValue(item);
    return object;
  }
  if (Array.isArray(value)) return value.map(toSecretsValue);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (value instanceof TimeValue) return value.text;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

async function decryptToObject(path: string, options: LoadSecretsOptions): Promise<SecretsObject> {
  const { data } = await decryptFile(path, options);
  const value = toSecretsValue(data);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CofferError('UNSUPPORTED_VALUE', `${path}: loadSecrets needs a map at the top of the file`, { data: { file: path } });
  }
  return value;
}

async function loadOne(path: string, options: LoadSecretsOptions): Promise<SecretsObject> {
  if (options.cache === false) return decryptToObject(path, options);
  const info = await stat(path).catch((cause) => {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CofferError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', `cannot read ${path}: ${code ?? 'unknown error'}`, { cause, data: { file: path } });
  });
  const cached = cache.get(path);
  if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return cached.data;
  const data = decryptToObject(path, options);
  cache.set(path, { size: info.size, mtimeMs: info.mtimeMs, data });
  // a failed decrypt is not remembered: the next call tries again (a key may have been added)
  data.catch(() => {
    if (cache.get(path)?.data === data) cache.delete(path);
  });
  return data;
}

/**
 * Decrypts one or more SOPS/coffer files into one object; with several files, later files'
 * top-level keys win. Keys come from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD or the
 * default key file, as for the CLI. Give the type `coffer types` generated for the schema:
 *
 * ```ts
 * import { loadSecrets } from 'coffer';
 * import type { Secrets } from './secrets.js';
 * const secrets = await loadSecrets<Secrets>('secrets/prod.yaml');
 * ```
 */
export async function loadSecrets<T extends object = SecretsObject>(files: string | readonly string[], options: LoadSecretsOptions = {}): Promise<T> {
  const paths = (typeof files === 'string' ? [files] : files).map((file) => (options.cwd ? resolve(options.cwd, file) : resolve(file)));
  if (paths.length === 0) throw new CofferError('USAGE', 'loadSecrets needs at least one file');
  const objects = await Promise.all(paths.map((path) => loadOne(path, options)));
  // a fresh copy per call: a caller changing its object never changes what the next caller gets
  return structuredClone(Object.assign({}, ...objects)) as T;
}

/** Forgets every decrypted file (after a key change, or in tests). */
export function clearSecretsCache(): void {
  cache.clear();
}
