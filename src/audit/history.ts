// The history of every secret key: one walk over the commits, tree-diffed by oid, reading a blob
// only when a secrets file's oid changed (each blob parsed once). Events per key path come from
// comparing ENC strings; with a key ring, values are decrypted to tell a real change from a
// re-encryption (SOPS re-encrypts every value on each edit; coffer keeps unchanged ones).
import type { KeyRing } from '../file/key-ring.js';
import { detectStore } from '../format/stores/index.js';
import type { GitCommit, Repository, TreeChange } from '../git/repository.js';
import { type DecryptedVersion, decryptFileVersion, type EncryptedVersion, type FileVersion, readFileVersion } from './versions.js';
import { pathsOfFile } from './log.js';

export { pathsOfFile };

export const KEY_EVENT_KINDS = ['added', 'changed', 'removed', 'recipients changed', 'data key rotated', 're-encrypted', 'not encrypted', 'unreadable'] as const;
export type KeyEventKind = (typeof KEY_EVENT_KINDS)[number];

export interface KeyEvent {
  commit: string;
  /** Author date, ISO 8601 UTC. */
  date: string;
  author: string;
  authorEmail: string;
  committer: string;
  committerEmail: string;
  /** The file's path at this commit. */
  file: string;
  /** The key path (dotted), or null for an event of the whole file. */
  keyPath: string | null;
  event: KeyEventKind;
  /** The file's previous path when this commit renamed it. */
  renamedFrom?: string;
  recipientsAdded?: string[];
  recipientsRemoved?: string[];
  /** For `not encrypted` and `unreadable`. */
  problem?: string;
  /** True when decrypting told this event apart (changed vs re-encrypted). */
  decrypted?: boolean;
}

export interface FileRevision {
  commit: string;
  path: string;
  oid: string;
}

export interface HistoryOptions {
  ref?: string;
  /** Decrypts versions to tell changes from re-encryptions. */
  keys?: KeyRing;
  /** Paths that are secrets files whatever their content (coffer.yaml environments); binary-store files are followed only when this says so. */
  isSecretPath?: (path: string) => boolean;
}

export interface SecretHistory {
  repository: Repository;
  /** Parents before children. */
  commits: GitCommit[];
  /** In commit order, then by file, then file-level events before key events. */
  events: KeyEvent[];
  renames: { commit: string; from: string; to: string }[];
  /** Every path each commit changed against its first parent (all files, not only secrets). */
  changedPaths: Map<string, string[]>;
  /** Every version of a secrets file that a commit introduced. */
  revisions: FileRevision[];
  /** Secrets files at the walked ref: path -> blob oid. */
  head: Map<string, string>;
  versionOf(oid: string, path: string): Promise<FileVersion>;
}

export const FOLLOWED_STORES = new Set(['yaml', 'json', 'dotenv', 'ini']);

export interface Change {
  event: KeyEventKind;
  keyPath: string | null;
  recipientsAdded?: string[];
  recipientsRemoved?: string[];
  problem?: string;
  decrypted?: boolean;
}

function sortedKeys(version: EncryptedVersion): string[] {
  return [...version.values.keys()];
}

/** Key events between two versions of one file (either may be absent). */
export function compareVersions(before: FileVersion | undefined, after: FileVersion | undefined, decrypted?: { before?: DecryptedVersion; after?: DecryptedVersion }): Change[] {
  if (!after) return before?.kind === 'encrypted' ? sortedKeys(before).map((keyPath) => ({ event: 'removed', keyPath })) : [];
  if (after.kind !== 'encrypted') return [{ event: after.kind === 'not-encrypted' ? 'not encrypted' : 'unreadable', keyPath: null, problem: after.problem }];
  if (before?.kind !== 'encrypted') return sortedKeys(after).map((keyPath) => ({ event: 'added', keyPath }));
  const changes: Change[] = [];
  const added = after.recipients.filter((recipient) => !before.recipients.includes(recipient));
  const removed = before.recipients.filter((recipient) => !after.recipients.includes(recipient));
  if (added.length || removed.length) changes.push({ event: 'recipients changed', keyPath: null, recipientsAdded: added, recipientsRemoved: removed });
  const common = sortedKeys(after).filter((key) => before.values.has(key));
  const encryptedCommon = common.filter((key) => !after.values.get(key)!.startsWith('clear:') && !before.values.get(key)!.startsWith('clear:'));
  const unchanged = encryptedCommon.filter((key) => before.values.get(key) === after.values.get(key)).length;
  const oldWrapped = new Set(before.wrapped);
  const plain = decrypted?.before && decrypted.after ? decrypted : undefined;
  const rotated = plain
    ? plain.before!.dataKey !== plain.after!.dataKey
    : encryptedCommon.length > 0 && unchanged === 0 && !after.wrapped.some((enc) => oldWrapped.has(enc));
  if (rotated) changes.push({ event: 'data key rotated', keyPath: null, ...(plain ? { decrypted: true } : {}) });
  // every value re-encrypted at once: SOPS's own edits, or a new data key; which values really changed is unknowable without a key
  const wholesale = encryptedCommon.length >= 2 && unchanged === 0;
  for (const keyPath of sortedKeys(after)) {
    const old = before.values.get(keyPath);
    const now = after.values.get(keyPath)!;
    if (old === undefined) changes.push({ event: 'added', keyPath });
    else if (old !== now) {
      if (old.startsWith('clear:') || now.startsWith('clear:')) changes.push({ event: 'changed', keyPath });
      else if (plain) changes.push({ event: plain.before!.values.get(keyPath) === plain.after!.values.get(keyPath) ? 're-encrypted' : 'changed', keyPath, decrypted: true });
      else changes.push({ event: wholesale || rotated ? 're-encrypted' : 'changed', keyPath });
    }
  }
  for (const keyPath of sortedKeys(before)) if (!after.values.has(keyPath)) changes.push({ event: 'removed', keyPath });
  // file-level events first
  return [...changes.filter((change) => change.keyPath === null), ...changes.filter((change) => change.keyPath !== null)];
}

/** One event of `commit` for `file`. */
export function keyEvent(commit: GitCommit, file: string, item: Change, renamedFrom?: string): KeyEvent {
  return {
    commit: commit.oid,
    date: new Date(commit.author.timestamp * 1000).toISOString(),
    author: commit.author.name,
    authorEmail: commit.author.email,
    committer: commit.committer.name,
    committerEmail: commit.committer.email,
    file,
    keyPath: item.keyPath,
    event: item.event,
    ...(renamedFrom ? { renamedFrom } : {}),
    ...(item.recipientsAdded ? { recipientsAdded: item.recipientsAdded, recipientsRemoved: item.recipientsRemoved ?? [] } : {}),
    ...(item.problem ? { problem: item.problem } : {}),
    ...(item.decrypted ? { decrypted: true } : {}),
  };
}

export function changeKey(change: Change): string {
  return `${change.keyPath ?? ''}\0${change.event}`;
}

/** Walks the history of `ref` and lists every secret key event. */
export async function readSecretHistory(repository: Repository, options: HistoryOptions = {}): Promise<SecretHistory> {
  const commits = await repository.listCommits(options.ref ?? 'HEAD');
  const isSecretPath = options.isSecretPath ?? (() => false);
  const followed = (path: string) => isSecretPath(path) || FOLLOWED_STORES.has(detectStore(path));

  // pass 1: what each commit changed against each parent (trees only)
  const diffs = new Map<string, TreeChange[][]>();
  const changedPaths = new Map<string, string[]>();
  for (const commit of commits) {
    const parents = commit.parents.length ? commit.parents : [undefined];
    const perParent: TreeChange[][] = [];
    for (const parent of parents) {
      const parentTree = parent ? (await repository.readCommit(parent).catch(() => undefined))?.tree : undefined;
      perParent.push(await repository.diffTrees(parentTree, commit.tree));
    }
    diffs.set(commit.oid, perParent);
    changedPaths.set(commit.oid, (perParent[0] ?? []).map((change) => change.path));
  }

  const versions = new Map<string, Promise<FileVersion>>();
  const versionOf = (oid: string, path: string): Promise<FileVersion> => {
    // the store comes from the path: the same blob under another extension is another version
    const cacheKey = `${oid}\0${detectStore(path)}`;
    let version = versions.get(cacheKey);
    if (!version) {
      version = repository.readBlob(oid).then((content) => readFileVersion(path, content));
      versions.set(cacheKey, version);
    }
    return version;
  };
  const decryptedVersions = new Map<string, Promise<DecryptedVersion | undefined>>();
  const decryptedOf = (oid: string, path: string) => {
    if (!options.keys) return Promise.resolve(undefined);
    let decrypted = decryptedVersions.get(oid);
    if (!decrypted) {
      const keys = options.keys;
      decrypted = repository.readBlob(oid).then((content) => decryptFileVersion(path, content, keys).catch(() => undefined));
      decryptedVersions.set(oid, decrypted);
    }
    return decrypted;
  };

  // which paths are secrets files: claimed by the policy, or encrypted in some version
  const secretPaths = new Set<string>();
  for (const perParent of diffs.values()) {
    for (const change of perParent.flat()) {
      if (secretPaths.has(change.path) || !followed(change.path)) continue;
      if (isSecretPath(change.path)) {
        secretPaths.add(change.path);
        continue;
      }
      for (const oid of [change.before, change.after]) {
        if (oid && (await versionOf(oid, change.path)).kind === 'encrypted') {
          secretPaths.add(change.path);
          break;
        }
      }
    }
  }

  const events: KeyEvent[] = [];
  const renames: SecretHistory['renames'] = [];
  const revisions: FileRevision[] = [];
  const head = new Map<string, string>();
  const compareOids = async (beforeOid: string | undefined, beforePath: string, afterOid: string | undefined, afterPath: string): Promise<Change[]> => {
    const before = beforeOid ? await versionOf(beforeOid, beforePath) : undefined;
    const after = afterOid ? await versionOf(afterOid, afterPath) : undefined;
    let decrypted: { before?: DecryptedVersion; after?: DecryptedVersion } | undefined;
    if (options.keys && before?.kind === 'encrypted' && after?.kind === 'encrypted' && beforeOid && afterOid) {
      const [a, b] = await Promise.all([decryptedOf(beforeOid, beforePath), decryptedOf(afterOid, afterPath)]);
      decrypted = { ...(a ? { before: a } : {}), ...(b ? { after: b } : {}) };
    }
    return compareVersions(before, after, decrypted);
  };

  for (const commit of commits) {
    const perParent = diffs.get(commit.oid)!;
    const first = (perParent[0] ?? []).filter((change) => secretPaths.has(change.path));
    // renames: a removed secrets file and an added one with the same blob or the same wrapped data key
    const removedPaths = first.filter((change) => change.before && !change.after);
    const addedPaths = first.filter((change) => change.after && !change.before);
    const renamedFrom = new Map<string, TreeChange>();
    for (const added of addedPaths) {
      const afterVersion = await versionOf(added.after!, added.path);
      for (const removed of removedPaths) {
        if ([...renamedFrom.values()].includes(removed)) continue;
        const beforeVersion = await versionOf(removed.before!, removed.path);
        const sameKey =
          afterVersion.kind === 'encrypted' && beforeVersion.kind === 'encrypted' && afterVersion.wrapped.some((enc) => beforeVersion.wrapped.includes(enc));
        if (removed.before === added.after || sameKey) {
          renamedFrom.set(added.path, removed);
          break;
        }
      }
    }
    const consumed = new Set([...renamedFrom.values()].map((change) => change.path));
    for (const change of first) {
      if (consumed.has(change.path)) continue;
      const source = renamedFrom.get(change.path);
      const beforeOid = source ? source.before : change.before;
      const beforePath = source ? source.path : change.path;
      if (source) renames.push({ commit: commit.oid, from: source.path, to: change.path });
      let changes = await compareOids(beforeOid, beforePath, change.after, change.path);
      if (perParent.length > 1) {
        // a merge: only what differs from every parent is the merge's own change (git's TREESAME rule)
        for (const other of perParent.slice(1)) {
          const otherChange = other.find((item) => item.path === change.path);
          if (!otherChange) {
            changes = [];
            break;
          }
          const keep = new Set((await compareOids(otherChange.before, change.path, change.after, change.path)).map(changeKey));
          changes = changes.filter((item) => keep.has(changeKey(item)));
        }
      }
      if (change.after) revisions.push({ commit: commit.oid, path: change.path, oid: change.after });
      for (const item of changes) events.push(keyEvent(commit, change.path, item, source?.path));
    }
  }
  const tip = commits.at(-1);
  if (tip) {
    for (const path of secretPaths) {
      const oid = await repository.findBlob(tip.oid, path);
      if (oid) head.set(path, oid);
    }
  }
  return { repository, commits, events, renames, changedPaths, revisions, head, versionOf };
}
