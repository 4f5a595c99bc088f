// The history of one secrets file (`coffer log FILE`), like `git log -- FILE`: per commit only the
// trees along the file's path are read (the blob oid per commit), blobs only where the oid
// changed, and earlier names are followed across renames. Commit headers, per-commit oids and
// per-blob key maps go to the persistent cache (.git/coffer/), so a repeated run reads no objects.
// Events are the same as readSecretHistory's for that file. The walk's result is a plain record
// (answer-cache.ts stores it); `extendFileHistory` adds a few new commits on top of one.
import type { KeyRing } from '../file/key-ring.js';
import { detectStore } from '../format/stores/index.js';
import type { PathSegment } from '../format/tree.js';
import type { HistoryCache } from '../git/history-cache.js';
import { type GitCommit, type Repository, walkCommits } from '../git/repository.js';
import { type FileHistoryRecord, recordHistory } from './answer-cache.js';
import { type Change, changeKey, compareVersions, type FileRevision, FOLLOWED_STORES, type HistoryOptions, type KeyEvent, keyEvent, type SecretHistory } from './history.js';
import { type DecryptedVersion, decryptFileVersion, type FileVersion, readFileVersion } from './versions.js';

export interface FileHistoryOptions extends HistoryOptions {
  cache?: HistoryCache;
}

type StoredVersion = { kind: 'encrypted'; values: [string, string][]; paths: [string, PathSegment[]][]; recipients: string[]; wrapped: string[]; lastModified: string } | FileVersion;

function storeVersion(version: FileVersion): StoredVersion {
  if (version.kind !== 'encrypted') return version;
  return { ...version, values: [...version.values], paths: [...version.paths] };
}

function loadVersion(stored: unknown): FileVersion | undefined {
  const value = stored as StoredVersion | undefined;
  if (!value || typeof value !== 'object') return undefined;
  if (value.kind === 'encrypted' && Array.isArray(value.values) && Array.isArray(value.paths)) {
    return { ...value, values: new Map(value.values as [string, string][]), paths: new Map(value.paths as [string, PathSegment[]][]) };
  }
  if ((value.kind === 'not-encrypted' || value.kind === 'unreadable') && typeof value.problem === 'string') return value;
  return undefined;
}

const hasPgp = (version: FileVersion) => version.kind === 'encrypted' && version.recipients.some((recipient) => recipient.startsWith('pgp:'));
const hasSsh = (version: FileVersion) => version.kind === 'encrypted' && version.recipients.some((recipient) => recipient.startsWith('ssh-'));

/** Events of one file (its current repository path) and of the names it had before. */
export async function readFileHistory(repository: Repository, file: string, options: FileHistoryOptions = {}): Promise<SecretHistory> {
  const { record, commits, versionOf } = await walkFileHistory(repository, file, options);
  return { repository, commits, changedPaths: new Map(), versionOf, ...recordHistory(record) };
}

/** The walk as a plain record (for the answer cache): every event before the secrets-file filter. */
export async function readFileHistoryRecord(repository: Repository, file: string, options: FileHistoryOptions = {}): Promise<FileHistoryRecord> {
  return (await walkFileHistory(repository, file, options)).record;
}

async function walkFileHistory(
  repository: Repository,
  file: string,
  options: FileHistoryOptions,
): Promise<{ record: FileHistoryRecord; commits: GitCommit[]; versionOf: SecretHistory['versionOf'] }> {
  const cache = options.cache;
  const isSecretPath = options.isSecretPath ?? (() => false);
  const readCommit = (oid: string): GitCommit | Promise<GitCommit> => {
    const cached = cache?.commit(oid);
    if (cached) return cached;
    return repository.readCommit(oid).then((commit) => {
      cache?.putCommit(commit);
      return commit;
    });
  };
  const head = await repository.resolveRef(options.ref ?? 'HEAD');
  const commits = await walkCommits(head, repository.shallow, readCommit);
  const inWalk = new Map(commits.map((commit) => [commit.oid, commit]));

  // the blob oid of a path at every commit, filled once per path: from the cache without a
  // promise per commit, from the trees (one entry per level) where the cache has none
  const oidsByPath = new Map<string, Map<string, string | undefined>>();
  const loadOids = async (path: string): Promise<Map<string, string | undefined>> => {
    let oids = oidsByPath.get(path);
    if (oids) return oids;
    oids = new Map();
    for (const commit of commits) {
      const cached = cache?.pathOid(path, commit.oid);
      if (cached !== undefined) {
        oids.set(commit.oid, cached ?? undefined);
        continue;
      }
      const found = await repository.findBlob(commit.oid, path);
      cache?.putPathOid(path, commit.oid, found);
      oids.set(commit.oid, found);
    }
    oidsByPath.set(path, oids);
    return oids;
  };
  const oidAt = (commit: string | undefined, path: string): string | undefined => (commit === undefined ? undefined : oidsByPath.get(path)?.get(commit));

  let pgp = false;
  let ssh = false;
  const versions = new Map<string, Promise<FileVersion>>();
  const versionOf = (oid: string, path: string): Promise<FileVersion> => {
    const key = `${oid}:${detectStore(path)}`;
    let version = versions.get(key);
    if (!version) {
      const cached = loadVersion(cache?.version(key));
      version = (
        cached
          ? Promise.resolve(cached)
          : repository.readBlob(oid).then((content) => {
              const read = readFileVersion(path, content);
              cache?.putVersion(key, storeVersion(read));
              return read;
            })
      ).then((read) => {
        pgp ||= hasPgp(read);
        ssh ||= hasSsh(read);
        return read;
      });
      versions.set(key, version);
    }
    return version;
  };
  const decryptedVersions = new Map<string, Promise<DecryptedVersion | undefined>>();
  const decryptedOf = (oid: string, path: string, keys: KeyRing) => {
    let decrypted = decryptedVersions.get(oid);
    if (!decrypted) {
      decrypted = repository.readBlob(oid).then((content) => decryptFileVersion(path, content, keys).catch(() => undefined));
      decryptedVersions.set(oid, decrypted);
    }
    return decrypted;
  };
  const compareOids = async (beforeOid: string | undefined, beforePath: string, afterOid: string | undefined, afterPath: string): Promise<Change[]> => {
    const before = beforeOid ? await versionOf(beforeOid, beforePath) : undefined;
    const after = afterOid ? await versionOf(afterOid, afterPath) : undefined;
    let decrypted: { before?: DecryptedVersion; after?: DecryptedVersion } | undefined;
    if (options.keys && before?.kind === 'encrypted' && after?.kind === 'encrypted' && beforeOid && afterOid) {
      const [a, b] = await Promise.all([decryptedOf(beforeOid, beforePath, options.keys), decryptedOf(afterOid, afterPath, options.keys)]);
      decrypted = { ...(a ? { before: a } : {}), ...(b ? { after: b } : {}) };
    }
    return compareVersions(before, after, decrypted);
  };
  const followed = (path: string) => isSecretPath(path) || FOLLOWED_STORES.has(detectStore(path));

  const findPreviousName = async (commit: string, parent: string, path: string, now: string): Promise<string | undefined> => {
    const added = await versionOf(now, path);
    const changes = await repository.diffTrees((await repository.readCommit(parent)).tree, (await repository.readCommit(commit)).tree);
    for (const change of changes) {
      if (!change.before || change.after || change.path === path || !followed(change.path)) continue;
      const removed = await versionOf(change.before, change.path);
      if (removed.kind !== 'encrypted' && !isSecretPath(change.path)) continue;
      const sameKey = added.kind === 'encrypted' && removed.kind === 'encrypted' && added.wrapped.some((enc) => removed.wrapped.includes(enc));
      if (change.before === now || sameKey) return change.path;
    }
    return undefined;
  };

  // earlier names: where a followed path appears against the first parent, a secrets file removed
  // in the same commit with the same blob or the same wrapped data key is its previous name
  const renames: FileHistoryRecord['renames'] = [];
  const renameInto = new Map<string, { from: string; before: string }>(); // `${commit}\0${to}`
  const tracked: string[] = [];
  const pending = [file];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (tracked.includes(path) || !followed(path)) continue;
    tracked.push(path);
    const oids = await loadOids(path);
    for (const commit of commits) {
      const parent = commit.parents[0];
      if (!parent || !inWalk.has(parent)) continue;
      const now = oids.get(commit.oid);
      if (!now || oids.get(parent)) continue;
      // the answer is cached per commit under a pseudo-path (objects are immutable, so is it)
      const cacheKey = `\0renamed-from:${path}`;
      const cached = cache?.pathOid(cacheKey, commit.oid);
      const from = cached !== undefined ? (cached ?? undefined) : await findPreviousName(commit.oid, parent, path, now);
      cache?.putPathOid(cacheKey, commit.oid, from);
      if (from !== undefined) {
        const before = (await loadOids(from)).get(parent);
        if (!before) continue;
        renameInto.set(`${commit.oid}\0${path}`, { from, before });
        renames.push({ commit: commit.oid, from, to: path });
        pending.push(from);
      }
    }
  }
  const renamedAway = new Set(renames.map((rename) => `${rename.commit}\0${rename.from}`));

  const events: KeyEvent[] = [];
  const revisions: FileRevision[] = [];
  const secretPaths = new Set(tracked.filter(isSecretPath));
  for (const commit of commits) {
    for (const path of tracked) {
      if (renamedAway.size > 0 && renamedAway.has(`${commit.oid}\0${path}`)) continue;
      const now = oidAt(commit.oid, path);
      const first = oidAt(commit.parents[0], path);
      const source = renameInto.size > 0 ? renameInto.get(`${commit.oid}\0${path}`) : undefined;
      if (now === first && !source) continue;
      if (now && (await versionOf(now, path)).kind === 'encrypted') secretPaths.add(path);
      let changes = source ? await compareOids(source.before, source.from, now, path) : await compareOids(first, path, now, path);
      // a merge: only what differs from every parent is the merge's own change (git's TREESAME rule)
      for (const parent of commit.parents.slice(1)) {
        const other = oidAt(parent, path);
        if (other === now) {
          changes = [];
          break;
        }
        const keep = new Set((await compareOids(other, path, now, path)).map(changeKey));
        changes = changes.filter((item) => keep.has(changeKey(item)));
      }
      if (now) revisions.push({ commit: commit.oid, path, oid: now });
      for (const item of changes) events.push(keyEvent(commit, path, item, source?.from));
    }
  }
  // paths no version of which was encrypted (and no policy claims) are not secrets files
  for (const revision of revisions) if ((await versionOf(revision.oid, revision.path)).kind === 'encrypted') secretPaths.add(revision.path);
  const tip = commits.at(-1)?.oid;
  const tips = Object.fromEntries(tracked.map((path) => [path, oidAt(tip, path) ?? '']));
  cache?.save();
  // the record is built from the walk's own order: versions seen decide `pgp` before it is read
  await Promise.all(versions.values());
  return {
    record: { head, file, tracked, secretPaths: [...secretPaths], events, renames, revisions, tips, pgp, ssh },
    commits,
    versionOf,
  };
}

/** How far back an earlier answer is looked for before the whole history is walked instead. */
export const MAX_EXTENSION = 200;

/**
 * The record at `head` from an earlier head's record (`earlier`, asked for heads in `known`) and
 * the commits since: undefined unless those are single-parent, at most MAX_EXTENSION, and bring
 * no tracked path into being (a rename or re-creation needs the whole walk). Keyless, like the
 * record: events come from ENC strings alone.
 */
export async function extendFileHistory(
  repository: Repository,
  head: string,
  known: ReadonlySet<string>,
  earlier: (head: string) => FileHistoryRecord | undefined,
): Promise<FileHistoryRecord | undefined> {
  const chain: GitCommit[] = [];
  let oid = head;
  while (!known.has(oid)) {
    if (chain.length >= MAX_EXTENSION || repository.shallow.includes(oid)) return undefined;
    const commit = await repository.readCommit(oid);
    if (commit.parents.length !== 1) return undefined;
    chain.push(commit);
    oid = commit.parents[0]!;
  }
  const record = earlier(oid);
  if (!record || chain.length === 0) return undefined;
  chain.reverse();
  const versions = new Map<string, Promise<FileVersion>>();
  const versionOf = (oid: string, path: string) => {
    const key = `${oid}:${detectStore(path)}`;
    let version = versions.get(key);
    if (!version) {
      version = repository.readBlob(oid).then((content) => readFileVersion(path, content));
      versions.set(key, version);
    }
    return version;
  };
  const tips = { ...record.tips };
  const secretPaths = new Set(record.secretPaths);
  const events = [...record.events];
  const revisions = [...record.revisions];
  let pgp = record.pgp;
  let ssh = record.ssh;
  for (const commit of chain) {
    for (const path of record.tracked) {
      const before = tips[path] || undefined;
      const now = await repository.findBlob(commit.oid, path);
      if (now === before) continue;
      if (now && !before) return undefined;
      const after = now ? await versionOf(now, path) : undefined;
      if (after?.kind === 'encrypted') secretPaths.add(path);
      if (after) {
        pgp ||= hasPgp(after);
        ssh ||= hasSsh(after);
      }
      for (const item of compareVersions(before ? await versionOf(before, path) : undefined, after)) events.push(keyEvent(commit, path, item));
      if (now) revisions.push({ commit: commit.oid, path, oid: now });
      tips[path] = now ?? '';
    }
  }
  return { ...record, head, secretPaths: [...secretPaths], events, revisions, tips, pgp, ssh };
}
