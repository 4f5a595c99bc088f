// A persistent cache under .git/coffer/ for history commands: commit headers, a path's blob oid
// per commit, and per-blob key maps (ENC strings by key path). Everything is keyed by object id,
// and objects are immutable, so entries never go stale. Written atomically (temp file and rename),
// 0600; an unreadable or foreign file, or one another user could have written, is ignored and
// rebuilt. Lives in .git, so it is never committed; it holds nothing a clone of the repository does
// not already hold in clear.
import { join } from 'node:path';
import { readCacheFile, writeCacheFile } from '../io/user-cache.js';
import type { GitCommit } from './repository.js';

const VERSION = 1;

type Person = [name: string, email: string, timestamp: number, timezoneOffset: number];
type CommitRecord = [tree: string, parents: string[], author: Person, committer: Person, signed: 0 | 1];

interface CacheFile {
  version: number;
  commits: Record<string, CommitRecord>;
  /** path -> commit oid -> blob oid ('' when the path is absent). */
  paths: Record<string, Record<string, string>>;
  /** `blob oid:store` -> a serialised FileVersion. */
  versions: Record<string, unknown>;
}

export interface HistoryCache {
  /** A commit without message, payload or signature text (`signature` is '' when it had one). */
  commit(oid: string): GitCommit | undefined;
  putCommit(commit: GitCommit): void;
  /** The blob oid of `path` at `commit`: a string, null when absent, undefined when not cached. */
  pathOid(path: string, commit: string): string | null | undefined;
  putPathOid(path: string, commit: string, oid: string | undefined): void;
  version(key: string): unknown;
  putVersion(key: string, version: unknown): void;
  /** Writes the file when anything was added; errors are ignored (a cache is optional). */
  save(): void;
}

const person = (p: GitCommit['author']): Person => [p.name, p.email, p.timestamp, p.timezoneOffset];
const unperson = ([name, email, timestamp, timezoneOffset]: Person) => ({ name, email, timestamp, timezoneOffset });

function load(path: string): CacheFile {
  // an entry another user could have written might hide a change from `coffer log`: readCacheFile refuses it
  const data = readCacheFile(path) as CacheFile | undefined;
  if (data?.version === VERSION && typeof data.commits === 'object' && typeof data.paths === 'object' && typeof data.versions === 'object') return data;
  return { version: VERSION, commits: {}, paths: {}, versions: {} };
}

export function openHistoryCache(gitdir: string): HistoryCache {
  const dir = join(gitdir, 'coffer');
  const file = join(dir, 'history-cache.json');
  const data = load(file);
  let dirty = false;
  return {
    commit(oid) {
      const record = data.commits[oid];
      if (!Array.isArray(record) || record.length !== 5) return undefined;
      const [tree, parents, author, committer, signed] = record;
      return { oid, tree, parents, author: unperson(author), committer: unperson(committer), message: '', payload: '', ...(signed ? { signature: '' } : {}) };
    },
    putCommit(commit) {
      if (data.commits[commit.oid]) return;
      data.commits[commit.oid] = [commit.tree, commit.parents, person(commit.author), person(commit.committer), commit.signature ? 1 : 0];
      dirty = true;
    },
    pathOid(path, commit) {
      const oid = data.paths[path]?.[commit];
      return oid === undefined ? undefined : oid === '' ? null : oid;
    },
    putPathOid(path, commit, oid) {
      const byCommit = data.paths[path] ?? {};
      data.paths[path] = byCommit;
      if (byCommit[commit] !== undefined) return;
      byCommit[commit] = oid ?? '';
      dirty = true;
    },
    version: (key) => data.versions[key],
    putVersion(key, version) {
      if (data.versions[key] !== undefined) return;
      data.versions[key] = version;
      dirty = true;
    },
    save() {
      if (dirty && writeCacheFile(file, JSON.stringify(data))) dirty = false;
    },
  };
}
