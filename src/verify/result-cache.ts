// The keyless result cache of `coffer verify`. Pre-commit runs verify again and again over files
// that mostly did not change, so each file's keyless result is kept under a SHA-256 of everything
// it depends on: the cache format, coffer's version, the policy file's bytes, the file's path, its
// environment and recipients, its schema's bytes and the file's own bytes. An entry can only say
// "these exact bytes passed (or failed) the keyless checks under this exact policy, schema and
// version"; expiry and rotation are stored as facts and judged at each run's time (dates.ts).
// Keyed checks (MAC, values, strength, reuse) are never cached. The file lives in
// .git/coffer/ (like the history cache), else in the user cache directory; it is written
// atomically, holds only what this run used (plus, on a run over some paths, older entries up to
// a cap), and anything unreadable, foreign or not owned by this user is ignored.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { isOwnedAndPrivate, readCacheFile, userCacheDirectory, writeCacheFile } from '../io/user-cache.js';
import { VERSION } from '../version.js';
import type { DateFacts, DatedValue } from './dates.js';
import { type Problem, RULES } from './report.js';
import { findRepositoryRoot, gitDirectoryOf } from './sources.js';

/** Bump when what an entry means changes within one coffer version. */
export const CACHE_FORMAT = 1;
/** Entries kept at most (a run over some paths keeps older entries up to this). */
const MAX_ENTRIES = 20_000;

/** A file's keyless result. */
export interface KeylessEntry {
  /** Problems that do not depend on the time, with their lines. */
  problems: Problem[];
  /** A readable SOPS file with well-formed values: the keyed checks may run. */
  decryptable: boolean;
  /** What expiry and rotation are judged by (files with a schema). */
  dates?: DateFacts;
}

/** A schema's verdict: `problem` when it is invalid. */
export interface SchemaEntry {
  problem?: Problem;
}

interface CacheFile {
  format: number;
  version: string;
  policy?: { key: string; value: unknown };
  schemas: Record<string, SchemaEntry>;
  files: Record<string, KeylessEntry>;
}

export interface VerifyCache {
  /** The cached parse of the policy under `key`, unchecked (the caller validates it). */
  policy(key: string): unknown;
  putPolicy(key: string, value: unknown): void;
  schema(key: string, file: string): SchemaEntry | undefined;
  putSchema(key: string, entry: SchemaEntry): void;
  /** The entry under `key`, when it is well formed and about `file`. */
  file(key: string, file: string): KeylessEntry | undefined;
  putFile(key: string, entry: KeylessEntry): void;
  /** Writes the file when this run changed it; errors are ignored (a cache is optional). */
  save(): void;
}

/** SHA-256 over the format, coffer's version and each part (length-prefixed, so parts never run together). */
export function cacheKey(...parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256').update(`coffer verify cache ${CACHE_FORMAT}\0${VERSION}\0`);
  for (const part of parts) hash.update(`${typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength}:`).update(part);
  return hash.digest('base64url');
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * Where the cache of the policy in `root` lives: .git/coffer/verify-cache.json (one file per policy
 * directory in the repository), else the user cache directory; undefined when there is neither.
 */
export function verifyCacheLocation(root: string, env: Readonly<Record<string, string | undefined>>): { path: string; inUserCache: boolean } | undefined {
  const top = findRepositoryRoot(root);
  let gitdir: string | undefined;
  try {
    gitdir = top === undefined ? undefined : gitDirectoryOf(top);
  } catch {
    gitdir = undefined;
  }
  if (top !== undefined && gitdir !== undefined) {
    const inside = relative(top, root).split(sep).join('/');
    return { path: join(gitdir, 'coffer', inside === '' ? 'verify-cache.json' : `verify-cache-${shortHash(inside)}.json`), inUserCache: false };
  }
  const directory = userCacheDirectory(env);
  return directory === undefined ? undefined : { path: join(directory, `verify-${shortHash(root)}.json`), inUserCache: true };
}

const SEVERITIES = new Set(['error', 'warning', 'note']);
const isString = (value: unknown): value is string => typeof value === 'string';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function isProblem(value: unknown, file: string): value is Problem {
  return (
    isObject(value) &&
    isString(value['rule']) &&
    Object.hasOwn(RULES, value['rule']) &&
    SEVERITIES.has(value['severity'] as string) &&
    value['file'] === file &&
    isString(value['message']) &&
    (value['keyPath'] === undefined || isString(value['keyPath'])) &&
    (value['line'] === undefined || Number.isInteger(value['line'])) &&
    (value['hint'] === undefined || isString(value['hint']))
  );
}

function isDatedValue(value: unknown): value is DatedValue {
  return isObject(value) && isString(value['keyPath']) && (value['expires'] === undefined || isString(value['expires'])) && (value['rotate'] === undefined || isString(value['rotate']));
}

function isKeylessEntry(value: unknown, file: string): value is KeylessEntry {
  if (!isObject(value) || !Array.isArray(value['problems']) || typeof value['decryptable'] !== 'boolean') return false;
  if (!value['problems'].every((item) => isProblem(item, file))) return false;
  const dates = value['dates'];
  return dates === undefined || (isObject(dates) && isString(dates['lastModified']) && Array.isArray(dates['values']) && dates['values'].every(isDatedValue));
}

function emptyFile(): CacheFile {
  return { format: CACHE_FORMAT, version: VERSION, schemas: {}, files: {} };
}

function readResultFile(path: string, inUserCache: boolean): CacheFile {
  try {
    if (inUserCache && !isOwnedAndPrivate(fs.statSync(dirname(path)))) return emptyFile();
    const data = readCacheFile(path);
    if (!isObject(data) || data['format'] !== CACHE_FORMAT || data['version'] !== VERSION || !isObject(data['schemas']) || !isObject(data['files'])) return emptyFile();
    const policy = data['policy'];
    return {
      format: CACHE_FORMAT,
      version: VERSION,
      ...(isObject(policy) && isString(policy['key']) ? { policy: { key: policy['key'], value: policy['value'] } } : {}),
      schemas: data['schemas'] as CacheFile['schemas'],
      files: data['files'] as CacheFile['files'],
    };
  } catch {
    return emptyFile();
  }
}

/** The entries of `previous` kept beside this run's: none after a whole run, older ones up to the cap after a run over some paths. */
function keep<T>(previous: Record<string, T>, used: Map<string, T>, partial: boolean): Record<string, T> {
  const kept: Record<string, T> = {};
  if (partial) {
    const room = MAX_ENTRIES - used.size;
    const older = Object.keys(previous).filter((key) => !used.has(key));
    for (const key of older.slice(Math.max(0, older.length - room))) kept[key] = previous[key]!;
  }
  for (const [key, value] of used) kept[key] = value;
  return kept;
}

/**
 * The cache at `location`. `partial`: this run checks only some paths, so entries it does not use
 * are kept (up to MAX_ENTRIES); after a whole run only the entries it used remain.
 */
export function openVerifyCache(location: { path: string; inUserCache: boolean }, options: { partial: boolean }): VerifyCache {
  const data = readResultFile(location.path, location.inUserCache);
  const usedFiles = new Map<string, KeylessEntry>();
  const usedSchemas = new Map<string, SchemaEntry>();
  let changed = false;
  return {
    policy: (key) => (data.policy?.key === key ? data.policy.value : undefined),
    putPolicy(key, value) {
      data.policy = { key, value };
      changed = true;
    },
    schema(key, file) {
      const entry = Object.hasOwn(data.schemas, key) ? data.schemas[key] : undefined;
      if (!isObject(entry) || (entry.problem !== undefined && !isProblem(entry.problem, file))) return undefined;
      usedSchemas.set(key, entry);
      return entry;
    },
    putSchema(key, entry) {
      usedSchemas.set(key, entry);
      changed = true;
    },
    file(key, file) {
      const entry = Object.hasOwn(data.files, key) ? data.files[key] : undefined;
      if (!isKeylessEntry(entry, file)) return undefined;
      usedFiles.set(key, entry);
      return entry;
    },
    putFile(key, entry) {
      usedFiles.set(key, entry);
      changed = true;
    },
    save() {
      const dropsSome = !options.partial && (Object.keys(data.files).length > usedFiles.size || Object.keys(data.schemas).length > usedSchemas.size);
      if (!changed && !dropsSome) return;
      const file: CacheFile = {
        format: CACHE_FORMAT,
        version: VERSION,
        ...(data.policy ? { policy: data.policy } : {}),
        schemas: keep(data.schemas, usedSchemas, options.partial),
        files: keep(data.files, usedFiles, options.partial),
      };
      writeCacheFile(location.path, JSON.stringify(file));
    },
  };
}
