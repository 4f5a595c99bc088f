// The remote side of a rotation branch over smart HTTP(S) with a token (isomorphic-git): read
// where the remote branch is, fetch it so the next commit builds on it, push fast-forward only.
import * as git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { CofferError } from '../errors.js';
import type { GitLocation } from './branch.js';

export interface RemoteOptions extends GitLocation {
  /** The remote's HTTP(S) URL. */
  url: string;
  /** Sent as the password of HTTP basic auth (GitHub: `x-access-token`). */
  token?: string;
}

const authOf = (token: string | undefined) => (token ? () => ({ username: 'x-access-token', password: token }) : undefined);

/** The URL without its user info: a remote URL may carry a token (`https://x-access-token:TOKEN@host/...`). */
const shownUrl = (url: string) => url.replace(/\/\/[^@/]*@/, '//');

function remoteError(error: unknown, url: string, what: string): CofferError {
  if (error instanceof CofferError) return error;
  const code = (error as { code?: string }).code;
  const status = (error as { data?: { statusCode?: number } }).data?.statusCode;
  const shown = shownUrl(url);
  if (status === 401 || status === 403 || code === 'UserCanceledError') {
    return new CofferError('GITHUB_PERMISSION_DENIED', `${shown}: cannot ${what}: the remote refused the token${status ? ` (${status})` : ''}`, {
      hints: ['set GITHUB_TOKEN or pass --token with a token that has contents: write (classic tokens: repo)'],
      cause: error,
    });
  }
  return new CofferError('PUSH_FAILED', `${shown}: cannot ${what}: ${code ?? 'git error'}${status ? ` (${status})` : ''}`, {
    hints: ['check the remote URL (`git remote get-url origin`) and the network', 'or use --no-push to commit locally only'],
    cause: error,
  });
}

/** The origin remote's URL from git config, or undefined. */
export async function readRemoteUrl({ fs, dir }: GitLocation, remote = 'origin'): Promise<string | undefined> {
  const url = (await git.getConfig({ fs, dir, path: `remote.${remote}.url` }).catch(() => undefined)) as string | undefined;
  return url || undefined;
}

/** Where `branch` points on the remote, or undefined when it has no such branch. */
export async function readRemoteBranch(options: RemoteOptions, branch: string): Promise<string | undefined> {
  const ref = `refs/heads/${branch}`;
  try {
    const onAuth = authOf(options.token);
    const refs = await git.listServerRefs({ http, url: options.url, prefix: ref, ...(onAuth ? { onAuth } : {}) });
    return refs.find((entry) => entry.ref === ref)?.oid;
  } catch (error) {
    throw remoteError(error, options.url, `read the branches of the remote`);
  }
}

/** Fetches `branch` from the remote into the local object store; returns its commit. */
export async function fetchBranch(options: RemoteOptions, branch: string): Promise<string> {
  const { fs, dir, url } = options;
  try {
    const onAuth = authOf(options.token);
    const result = await git.fetch({ fs, http, dir, url, ref: branch, singleBranch: true, tags: false, ...(onAuth ? { onAuth } : {}) });
    if (!result.fetchHead) throw new CofferError('PUSH_FAILED', `${shownUrl(url)}: the remote has no branch ${branch}`);
    return result.fetchHead;
  } catch (error) {
    throw remoteError(error, url, `fetch ${branch}`);
  }
}

/**
 * Pushes the local `branch` to the same name on the remote, fast-forward only. A rejection names
 * its reason: a protected branch, or a branch that moved (someone pushed to it meanwhile).
 */
export async function pushBranch(options: RemoteOptions, branch: string): Promise<void> {
  const { fs, dir, url } = options;
  const ref = `refs/heads/${branch}`;
  let result: git.PushResult;
  try {
    const onAuth = authOf(options.token);
    result = await git.push({ fs, http, dir, url, ref, remoteRef: ref, ...(onAuth ? { onAuth } : {}) });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'PushRejectedError') {
      throw new CofferError('BRANCH_CONFLICT', `${branch}: the remote branch has commits that are not in the local one; refusing to overwrite them`, {
        hints: ['someone pushed to the rotation branch meanwhile: run the command again to build on their commits', `or delete the remote branch (\`git push origin --delete ${branch}\`) and run it again`],
        data: { branch },
        cause: error,
      });
    }
    if (code === 'GitPushError') throw refusal(branch, String((error as Error).message));
    throw remoteError(error, url, `push ${branch}`);
  }
  const status = result.refs[ref];
  if (!result.ok || (status && !status.ok)) throw refusal(branch, status?.error ?? result.error ?? 'rejected');
}

function refusal(branch: string, reason: string): CofferError {
  if (/protected|GH006|pre-receive hook declined|GH013/i.test(reason)) {
    return new CofferError('BRANCH_PROTECTED', `${branch}: the remote refused the push: the branch is protected`, {
      hints: ['rotation branches must not match a branch protection rule or ruleset: exclude `coffer/*`, or ask an admin'],
      data: { branch },
    });
  }
  if (/non-fast-forward|fetch first|stale info/i.test(reason)) {
    return new CofferError('BRANCH_CONFLICT', `${branch}: the remote branch moved; refusing to overwrite it`, {
      hints: ['run the command again to build on the remote branch'],
      data: { branch },
    });
  }
  return new CofferError('PUSH_FAILED', `${branch}: the remote refused the push (${reason.split('\n')[0]!.slice(0, 160)})`, { data: { branch } });
}
