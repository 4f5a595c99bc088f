// A change as a pull request: commit the files on a branch (reusing the branch of an earlier open
// pull request of the same kind), push it with a token, find or create the pull request. Each step
// is skipped when it would change nothing, so a rerun makes no commit, no push and no second PR.
import * as git from 'isomorphic-git';
import { CofferError } from '../errors.js';
import { commitOnBranch, type GitLocation, resolveCommit } from '../git/branch.js';
import { fetchBranch, pushBranch, readRemoteBranch } from '../git/push.js';
import type { GitHubClient, GitHubRepository } from '../github/client.js';
import { findOpenPullRequestBranches, findOrCreatePullRequest, type PullRequestResult, type PullRequestSpec } from '../github/pull-request.js';

export interface PublishRemote {
  /** The HTTPS URL of the repository (the origin remote). */
  url: string;
  token: string;
  octokit: GitHubClient;
  repository: GitHubRepository;
}

export interface PublishRequest extends GitLocation {
  /** The branch name for a new branch. */
  branch: string;
  /** An open pull request from a branch with this prefix is reused (an earlier run on another day). */
  reusePrefix: string;
  /** Repository paths the change is about: the branch conflicts when the base changed them since it forked. */
  paths: readonly string[];
  /** The files to commit, given the commit they go on top of and the base (HEAD). */
  buildFiles(parent: string, base: string): Promise<ReadonlyMap<string, string | Uint8Array>>;
  message: string;
  author: { name: string; email: string };
  committer?: { name: string; email: string };
  pullRequest: Omit<PullRequestSpec, 'head'>;
  /** Absent: commit locally only (--no-push). */
  remote?: PublishRemote;
}

export interface PublishResult {
  branch: string;
  /** The branch tip (the base when nothing was committed). */
  commit: string;
  /** A new commit was made. */
  committed: boolean;
  pushed: boolean;
  pullRequest?: PullRequestResult;
}

/** The newest local branch with `prefix`, or undefined. */
async function findLocalBranch({ fs, dir }: GitLocation, prefix: string): Promise<string | undefined> {
  const branches = await git.listBranches({ fs, dir });
  return branches.filter((branch) => branch.startsWith(prefix)).sort().at(-1);
}

/**
 * A branch forked from an older base is fine unless the base has since changed one of the files
 * the change rewrites: committing the branch's older copy would undo that change on merge.
 */
async function checkBranchCurrent(location: GitLocation, branch: string, tip: string, base: string, paths: readonly string[]): Promise<void> {
  if (tip === base || (await git.isDescendent({ ...location, oid: tip, ancestor: base, depth: -1 }))) return;
  const [fork] = await git.findMergeBase({ ...location, oids: [tip, base] });
  const blobAt = (commit: string | undefined, path: string) =>
    commit ? git.readBlob({ ...location, oid: commit, filepath: path }).then((result) => result.oid, () => undefined) : Promise.resolve(undefined);
  const moved: string[] = [];
  for (const path of paths) if ((await blobAt(fork as string | undefined, path)) !== (await blobAt(base, path))) moved.push(path);
  if (moved.length > 0) {
    throw new CofferError('BRANCH_CONFLICT', `${branch} was forked before ${moved.join(', ')} changed on the base branch`, {
      hints: [`merge the base branch into ${branch} (or close its pull request and delete the branch), then run the command again`],
      data: { branch, files: moved },
    });
  }
}

export async function publishChange(request: PublishRequest): Promise<PublishResult> {
  const location = { fs: request.fs, dir: request.dir };
  const base = await git.resolveRef({ ...location, ref: 'HEAD' });
  const { remote } = request;
  let branch: string;
  let tip: string | undefined;
  if (remote) {
    const [open] = (await findOpenPullRequestBranches(remote.octokit, remote.repository, request.reusePrefix)).sort().reverse();
    branch = open ?? request.branch;
    const remoteTip = await readRemoteBranch({ ...location, url: remote.url, token: remote.token }, branch);
    tip = remoteTip ? await fetchBranch({ ...location, url: remote.url, token: remote.token }, branch) : undefined;
  } else {
    branch = (await findLocalBranch(location, request.reusePrefix)) ?? request.branch;
    tip = await resolveCommit(location, `refs/heads/${branch}`);
  }
  if (tip !== undefined) await checkBranchCurrent(location, branch, tip, base, request.paths);
  const parent = tip ?? base;
  const files = await request.buildFiles(parent, base);
  if (files.size === 0 && tip === undefined) return { branch, commit: base, committed: false, pushed: false };
  const commit = await commitOnBranch({ ...location, branch, parent, files, message: request.message, author: request.author, ...(request.committer ? { committer: request.committer } : {}) });
  if (!remote) return { branch, commit: commit.oid, committed: commit.created, pushed: false };
  let pushed = false;
  if (commit.oid !== tip) {
    await pushBranch({ ...location, url: remote.url, token: remote.token }, branch);
    pushed = true;
  }
  const pullRequest = await findOrCreatePullRequest(remote.octokit, remote.repository, { ...request.pullRequest, head: branch });
  return { branch, commit: commit.oid, committed: commit.created, pushed, pullRequest };
}
