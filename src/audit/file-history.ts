// The history of one secrets file (`coffer log FILE`), like `git log -- FILE`: per commit only the
// trees along the file's path are read (the blob oid per commit), blobs only where the oid
// changed, and earlier names are followed across renames. Commit headers, per-commit oids and
// per-blob key maps go to the persistent cache (.git/coffer/), so a repeated run reads no objects.
// Events are the same as readSecretHistory's for that file.
import type { KeyRing } from '../file/key-ring.js';
import { detectStore } from '../format/stores/index.js';
import type { PathSegment } from '../format/tree.js';
import type { HistoryCache } from '../git/history-cache.js';
import { type GitCommit, type Repository, walkCommits } from '../git/repository.js';
import { type Change, changeKey, compareVersions, FOLLOWED_STORES, type HistoryOptions, type KeyEvent, keyEvent, type SecretHistory } from './history.js';
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

/** Events of one file (its current repository path) and of the names it had before. */
export async function readFileHistory(repository: Repository, file: string, options: FileHistoryOptions = {}): Promise<SecretHistory> {
  const cache = options.cache;
  const isSecretPath = options.isSecretPath ?? (() => false);
  const readCommit = async (oid: string): Promise<GitCommit> => {
    const cached = cache?.commit(oid);
    if (cached) return cached;
    const commit = await repository.readCommit(oid);
    cache?.putCommit(commit);
    return commit;
  };
  const head = await repository.resolveRef(options.ref ?? 'HEAD');
  const commits = await walkCommits(head, repository.shallow, readCommit);
  const inWalk = new Map(commits.map((commit) => [commit.oid, commit]));

  const oids = new Map<string, Promise<string | undefined>>();
  const oidAt = (commit: string | undefined, path: string): Promise<string | undefined> => {
    if (commit === undefined || !inWalk.has(commit)) return Promise.resolve(undefined);
    const key = `${commit}\0${path}`;
    let oid = oids.get(key);
    if (!oid) {
      const cached = cache?.pathOid(path, commit);
      oid =
        cached !== undefined
          ? Promise.resolve(cached ?? undefined)
          : (async () => {
              const commitObject = inWalk.get(commit)!;
              // a commit from the cache has no tree reads behind it: findBlob reads the commit again only when needed
              const found = await repository.findBlob(commitObject.oid, path);
              cache?.putPathOid(path, commit, found);
              return found;
            })();
      oids.set(key, oid);
    }
    return oid;
  };

  const versions = new Map<string, Promise<FileVersion>>();
  const versionOf = (oid: string, path: string): Promise<FileVersion> => {
    const key = `${oid}:${detectStore(path)}`;
    let version = versions.get(key);
    if (!version) {
      const cached = loadVersion(cache?.version(key));
      version = cached
        ? Promise.resolve(cached)
        : repository.readBlob(oid).then((content) => {
            const read = readFileVersion(path, content);
            cache?.putVersion(key, storeVersion(read));
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
  const renames: SecretHistory['renames'] = [];
  const renameInto = new Map<string, { from: string; before: string }>(); // `${commit}\0${to}`
  const tracked: string[] = [];
  const pending = [file];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (tracked.includes(path) || !followed(path)) continue;
    tracked.push(path);
    for (const commit of commits) {
      const parent = commit.parents[0];
      if (!parent || !inWalk.has(parent)) continue;
      const now = await oidAt(commit.oid, path);
      if (!now || (await oidAt(parent, path))) continue;
      // the answer is cached per commit under a pseudo-path (objects are immutable, so is it)
      const cacheKey = `\0renamed-from:${path}`;
      const cached = cache?.pathOid(cacheKey, commit.oid);
      const from = cached !== undefined ? (cached ?? undefined) : await findPreviousName(commit.oid, parent, path, now);
      cache?.putPathOid(cacheKey, commit.oid, from);
      if (from !== undefined) {
        const before = await oidAt(parent, from);
        if (!before) continue;
        renameInto.set(`${commit.oid}\0${path}`, { from, before });
        renames.push({ commit: commit.oid, from, to: path });
        pending.push(from);
      }
    }
  }
  const renamedAway = new Set(renames.map((rename) => `${rename.commit}\0${rename.from}`));

  const events: KeyEvent[] = [];
  const revisions: SecretHistory['revisions'] = [];
  const secretPaths = new Set(tracked.filter(isSecretPath));
  for (const commit of commits) {
    for (const path of tracked) {
      if (renamedAway.has(`${commit.oid}\0${path}`)) continue;
      const now = await oidAt(commit.oid, path);
      const parentOids = await Promise.all((commit.parents.length ? commit.parents : [undefined]).map((parent) => oidAt(parent, path)));
      const source = renameInto.get(`${commit.oid}\0${path}`);
      if (now === parentOids[0] && !source) continue;
      if (now && (await versionOf(now, path)).kind === 'encrypted') secretPaths.add(path);
      let changes = source ? await compareOids(source.before, source.from, now, path) : await compareOids(parentOids[0], path, now, path);
      // a merge: only what differs from every parent is the merge's own change (git's TREESAME rule)
      for (const other of parentOids.slice(1)) {
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
  const tip = commits.at(-1);
  const headFiles = new Map<string, string>();
  const tipOid = tip ? await oidAt(tip.oid, file) : undefined;
  if (tipOid && secretPaths.has(file)) headFiles.set(file, tipOid);
  cache?.save();
  return {
    repository,
    commits,
    events: events.filter((event) => secretPaths.has(event.file)),
    renames,
    changedPaths: new Map(),
    revisions: revisions.filter((revision) => secretPaths.has(revision.path)),
    head: headFiles,
    versionOf,
  };
}
