// Compiled user schemas kept across runs: compiling a schema with ajv (and loading ajv at all) cost
// more than checking 200 files, and `coffer verify` runs on every commit with the same schemas.
// An entry is the parsed schema and ajv's standalone code of its validators, in
// $XDG_CACHE_HOME/coffer (or ~/.cache/coffer), named by a hash of the schema text, coffer's version,
// ajv's version and CACHE_FORMAT. The code is instantiated with `new Function`, as ajv itself
// instantiates what it compiles (a dynamic import would make schemas async to load, and its module
// loader costs more); it `require`s only ajv's runtime helpers and FORMATS, given here. Entries are
// written atomically (0600 in a 0700 directory) and used only when they belong to this user and
// nobody else can write them; anything unusable falls back silently to compiling.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import equalModule from 'ajv/dist/runtime/equal.js';
import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';
import validationErrorModule from 'ajv/dist/runtime/validation_error.js';
import { isOwnedAndPrivate as isTrusted, readCacheFile, userCacheDirectory, writeCacheFile } from '../io/user-cache.js';
import { VERSION } from '../version.js';
import { AJV_VERSION } from './ajv-version.js';
import { FORMATS } from './formats.js';
import type { UserSchema } from './user-schema.js';

/** Bump when what compileUserSchema generates changes within one coffer version (walk.ts, FORMATS, ajv options). */
const CACHE_FORMAT = 1;

interface CacheEntry {
  root: Record<string, unknown>;
  shape: string;
  values?: string;
}

// Node's default import of a CommonJS module is module.exports; vitest's interop unwraps `.default`.
const cjsDefault = (module: unknown): unknown => (module as { default?: unknown }).default ?? module;

const RUNTIME: Record<string, unknown> = {
  'ajv/dist/runtime/equal': { default: cjsDefault(equalModule) },
  'ajv/dist/runtime/ucs2length': { default: cjsDefault(ucs2lengthModule) },
  'ajv/dist/runtime/validation_error': { default: cjsDefault(validationErrorModule) },
  'coffer:formats': FORMATS,
};

/** Whether validator code needs nothing but RUNTIME (anything else is not cached). */
function isSelfContained(code: string): boolean {
  for (const [, name] of code.matchAll(/require\("([^"]*)"\)/g)) if (!(name! in RUNTIME)) return false;
  return true;
}

function instantiate(code: string): ValidateFunction {
  const module = { exports: {} as unknown };
  const require = (name: string) => {
    if (!(name in RUNTIME)) throw new Error(`cached validator requires ${name}`);
    return RUNTIME[name];
  };
  new Function('module', 'exports', 'require', code)(module, module.exports, require);
  if (typeof module.exports !== 'function') throw new Error('cached validator exports no function');
  return module.exports as ValidateFunction;
}

/** $XDG_CACHE_HOME/coffer, else ~/.cache/coffer; undefined without a usable home. */
export const schemaCacheDirectory = userCacheDirectory;

function entryPath(directory: string, text: string): string {
  const key = createHash('sha256').update(`coffer ${VERSION}\0ajv ${AJV_VERSION}\0format ${CACHE_FORMAT}\0`).update(text).digest('hex');
  return join(directory, `schema-${key}.json`);
}

function readEntry(path: string, directory: string): CacheEntry | undefined {
  try {
    if (!isTrusted(fs.statSync(directory))) return undefined;
    const entry = readCacheFile(path) as CacheEntry | undefined;
    if (typeof entry?.root !== 'object' || entry.root === null || typeof entry.shape !== 'string') return undefined;
    return entry;
  } catch {
    return undefined;
  }
}

function fromEntry(entry: CacheEntry, file: string, values: ValidateFunction | undefined): UserSchema {
  const validateShape = instantiate(entry.shape);
  return {
    file,
    root: entry.root,
    validateShape,
    get validateValues(): ValidateFunction {
      if (values === undefined) throw new Error('loadUserSchema was called without values: true');
      return values;
    },
  };
}

/**
 * compileUserSchema through the cache in `directory` (undefined: no cache). `values` asks for the
 * validator of decrypted values too; without it, only validateShape may be used (keyless checks).
 */
export async function loadUserSchema(text: string, file: string, options: { directory: string | undefined; values: boolean }): Promise<UserSchema> {
  const { directory } = options;
  const path = directory === undefined ? undefined : entryPath(directory, text);
  const cached = path === undefined ? undefined : readEntry(path, directory!);
  if (cached && (!options.values || cached.values !== undefined)) {
    try {
      return fromEntry(cached, file, cached.values === undefined ? undefined : instantiate(cached.values));
    } catch {
      // unusable entry: compiled again below, and replaced
    }
  }
  // a miss loads ajv (user-schema.ts imports it): a hit never does
  const { compileUserSchema, validatorCode } = await import('./user-schema.js');
  const schema = compileUserSchema(text, file);
  if (path !== undefined) {
    const shape = validatorCode(schema.validateShape);
    const values = options.values ? validatorCode(schema.validateValues) : cached?.values;
    if (shape !== undefined && isSelfContained(shape) && (values === undefined || isSelfContained(values))) {
      const entry: CacheEntry = { root: schema.root, shape, ...(values !== undefined ? { values } : {}) };
      writeCacheFile(path, JSON.stringify(entry));
    }
  }
  return schema;
}
