// Commits on a branch without checking it out: the working tree, the index and HEAD stay as they
// are. Files are written as blobs into the parent's tree; an unchanged tree makes no commit, so
// running the same rotation twice never adds a duplicate commit.
import * as git from 'isomorphic-git';
import { CofferError } from '../errors.js';
import type { GitFs } from './repository.js';

export interface GitLocation {
  fs: GitFs;
  /** The working tree root. */
  dir: string;
}

export interface BranchCommitRequest extends GitLocation {
  /** Short branch name (`coffer/rotate-prod-2026-11-23`). */
  branch: string;
  /** The commit the new one builds on. */
  parent: string;
  /** Repository paths and their new contents. */
  files: ReadonlyMap<string, string | Uint8Array>;
  message: string;
  author: { name: string; email: string; timestamp?: number };
  /** Defaults to the author. */
  committer?: { name: string; email: string };
}

export interface BranchCommit {
  /** The branch tip afterwards. */
  oid: string;
  /** False when the tree was already as requested (no commit was made). */
  created: boolean;
}

/** A ref's commit, or undefined when the ref does not exist. */
export async function resolveCommit({ fs, dir }: GitLocation, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, dir, ref });
  } catch {
    return undefined;
  }
}

/** A file's content at a commit, or undefined when the path is absent there. */
export async function readFileAtCommit({ fs, dir }: GitLocation, commit: string, path: string): Promise<Uint8Array | undefined> {
  try {
    return (await git.readBlob({ fs, dir, oid: commit, filepath: path })).blob;
  } catch (error) {
    if ((error as { code?: string }).code === 'NotFoundError') return undefined;
    throw new CofferError('FILE_UNREADABLE', `${dir}: cannot read ${path} at ${commit.slice(0, 7)}`, { hints: ['run `git fsck` to check the repository'], cause: error });
  }
}

/** Writes `files` into the tree `treeOid` (undefined: empty), returning the new tree's oid. */
async function writeTreeWith(location: GitLocation, treeOid: string | undefined, files: ReadonlyMap<string, string | Uint8Array>): Promise<string> {
  const { fs, dir } = location;
  const entries = treeOid ? (await git.readTree({ fs, dir, oid: treeOid })).tree : [];
  const byName = new Map(entries.map((entry) => [entry.path, entry]));
  const below = new Map<string, Map<string, string | Uint8Array>>();
  for (const [path, content] of files) {
    const slash = path.indexOf('/');
    if (slash < 0) {
      const oid = await git.writeBlob({ fs, dir, blob: typeof content === 'string' ? new TextEncoder().encode(content) : content });
      const mode = byName.get(path)?.mode === '100755' ? '100755' : '100644';
      byName.set(path, { path, oid, mode, type: 'blob' });
    } else {
      const head = path.slice(0, slash);
      const children = below.get(head) ?? new Map<string, string | Uint8Array>();
      below.set(head, children);
      children.set(path.slice(slash + 1), content);
    }
  }
  for (const [name, children] of below) {
    const existing = byName.get(name);
    const oid = await writeTreeWith(location, existing?.type === 'tree' ? existing.oid : undefined, children);
    byName.set(name, { path: name, oid, mode: '040000', type: 'tree' });
  }
  return git.writeTree({ fs, dir, tree: [...byName.values()] });
}

/**
 * Commits `files` on top of `parent` and points `branch` at the result. When the files already
 * have those contents the branch is pointed at `parent` and nothing is committed.
 */
export async function commitOnBranch(request: BranchCommitRequest): Promise<BranchCommit> {
  const { fs, dir, branch, parent } = request;
  const ref = `refs/heads/${branch}`;
  try {
    const parentTree = (await git.readCommit({ fs, dir, oid: parent })).commit.tree;
    const tree = await writeTreeWith(request, parentTree, request.files);
    if (tree === parentTree) {
      await git.writeRef({ fs, dir, ref, value: parent, force: true });
      return { oid: parent, created: false };
    }
    const timestamp = request.author.timestamp ?? Math.floor(Date.now() / 1000);
    const author = { name: request.author.name, email: request.author.email, timestamp, timezoneOffset: 0 };
    const committer = request.committer ? { ...request.committer, timestamp, timezoneOffset: 0 } : author;
    const oid = await git.writeCommit({ fs, dir, commit: { message: request.message.endsWith('\n') ? request.message : `${request.message}\n`, tree, parent: [parent], author, committer } });
    await git.writeRef({ fs, dir, ref, value: oid, force: true });
    return { oid, created: true };
  } catch (error) {
    if (error instanceof CofferError) throw error;
    throw new CofferError('WRITE_FAILED', `${dir}: cannot commit on ${branch}: ${(error as { code?: string }).code ?? 'git error'}`, { hints: ['run `git fsck` and `git status` to check the repository'], cause: error });
  }
}

export interface CommitIdentity {
  author: { name: string; email: string };
  committer: { name: string; email: string };
}

/**
 * Who coffer's commits are by, as git decides it: GIT_AUTHOR_NAME/EMAIL and GIT_COMMITTER_NAME/EMAIL
 * (what CI jobs set), else user.name/user.email from the repository's config, else coffer's own.
 */
export async function readCommitIdentity({ fs, dir }: GitLocation, env: Readonly<Record<string, string | undefined>>): Promise<CommitIdentity> {
  const name = (await git.getConfig({ fs, dir, path: 'user.name' }).catch(() => undefined)) as string | undefined;
  const email = (await git.getConfig({ fs, dir, path: 'user.email' }).catch(() => undefined)) as string | undefined;
  const configured = { name: name || 'coffer', email: email || 'coffer@localhost' };
  const person = (role: 'AUTHOR' | 'COMMITTER') => ({ name: env[`GIT_${role}_NAME`] || configured.name, email: env[`GIT_${role}_EMAIL`] || configured.email });
  return { author: person('AUTHOR'), committer: person('COMMITTER') };
}
