// An Octokit for one repository: token from --token or GITHUB_TOKEN, GitHub Enterprise base URLs,
// retries with backoff on 5xx (plugin-retry) and waits on primary/secondary rate limits
// (plugin-throttling). Every failure becomes a CofferError that says what to do next.
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { CofferError } from '../errors.js';

const RetryingOctokit = Octokit.plugin(retry, throttling);
/** The REST client; the retry and throttling plugins act on every request. */
export type GitHubClient = Octokit;

/** The repository the pull requests go to. */
export interface GitHubRepository {
  owner: string;
  repo: string;
}

export interface GitHubClientOptions {
  token?: string;
  /** REST base URL: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  baseUrl?: string;
  /** Retries of a 5xx or rate-limited request (default 3). */
  retries?: number;
  /** Milliseconds one "second" of backoff or Retry-After lasts (tests shorten it; default 1000). */
  retryUnitMs?: number;
  /** Told about every wait, so the CLI can say why it pauses. */
  onWait?: (message: string) => void;
  /**
   * Space writes 1 s and notifying writes 3 s apart, as GitHub asks of integrations (default true;
   * tests against a local double turn it off).
   */
  pacing?: boolean;
}

/** A limiter group that runs every job at once (plugin-throttling's Bottleneck.Group interface). */
const UNPACED = { key: () => ({ schedule: (_options: unknown, job: (...args: unknown[]) => unknown, ...args: unknown[]) => Promise.resolve(job(...args)) }) };

export const DEFAULT_API_URL = 'https://api.github.com';

/** Token and API URL as the CLI takes them: the flag, else GITHUB_TOKEN / GITHUB_API_URL. */
export function resolveGitHubSettings(flags: { token?: string; apiUrl?: string }, env: Record<string, string | undefined>): { token?: string; baseUrl: string } {
  const token = flags.token ?? env['GITHUB_TOKEN'] ?? env['GH_TOKEN'];
  const baseUrl = (flags.apiUrl ?? env['GITHUB_API_URL'] ?? DEFAULT_API_URL).replace(/\/+$/, '');
  return { ...(token ? { token } : {}), baseUrl };
}

export function missingTokenError(what: string): CofferError {
  return new CofferError('GITHUB_TOKEN_MISSING', `${what} needs a GitHub token`, {
    hints: [
      'set GITHUB_TOKEN (in Actions, from secrets.GITHUB_TOKEN), or pass --token TOKEN',
      'the token needs contents: write and pull-requests: write (classic tokens: the repo scope)',
      'or use --no-push to commit locally only, or --dry-run to see the plan',
    ],
  });
}

export function createGitHubClient(options: GitHubClientOptions, what = 'this command'): GitHubClient {
  if (!options.token) throw missingTokenError(what);
  const retries = options.retries ?? 3;
  const unit = options.retryUnitMs ?? 1000;
  const onLimit = (kind: string) => (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
    if (retryCount >= retries) return false;
    options.onWait?.(`github: ${kind} rate limit on ${request.method} ${request.url}; retrying in ${retryAfter}s`);
    return true;
  };
  return new RetryingOctokit({
    auth: options.token,
    baseUrl: options.baseUrl ?? DEFAULT_API_URL,
    userAgent: 'coffer',
    log: { debug() {}, info() {}, warn() {}, error() {} },
    retry: { retries, retryAfterBaseValue: unit },
    throttle: {
      retryAfterBaseValue: unit,
      fallbackSecondaryRateRetryAfter: 60,
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
      // the plugin only calls key().schedule() on its groups
      ...((options.pacing === false ? { write: UNPACED, notifications: UNPACED } : {}) as Record<string, never>),
    },
  });
}

interface RequestFailure {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

/** A failed GitHub request as a CofferError; `what` names the operation ("create the pull request"). */
export function githubError(error: unknown, what: string, repository?: GitHubRepository): CofferError {
  if (error instanceof CofferError) return error;
  const failure = error as RequestFailure;
  const status = failure.status;
  const where = repository ? `${repository.owner}/${repository.repo}: ` : '';
  const headers = failure.response?.headers ?? {};
  const reason = (failure.message ?? 'request failed').split('\n')[0]!.slice(0, 200);
  if (status === 401) {
    return new CofferError('GITHUB_PERMISSION_DENIED', `${where}cannot ${what}: the GitHub token was rejected (401)`, {
      hints: ['the token is wrong or expired: create a new one and set GITHUB_TOKEN or pass --token'],
      data: { status },
      cause: error,
    });
  }
  if ((status === 403 || status === 404) && !/rate limit/i.test(reason)) {
    const accepted = headers['x-accepted-github-permissions'];
    const scopes = headers['x-accepted-oauth-scopes'];
    const has = headers['x-oauth-scopes'];
    const needs = accepted ? `fine-grained permission ${accepted}` : scopes ? `scope ${scopes}` : undefined;
    const hints = [
      needs ? `the token needs ${needs}${has !== undefined ? ` (it has: ${has || 'none'})` : ''}` : 'the token needs contents: write and pull-requests: write (classic tokens: repo)',
      status === 404 ? 'GitHub answers 404 for private repositories the token cannot see; check the owner/name and the token' : 'ask an admin of the repository for access',
    ];
    return new CofferError('GITHUB_PERMISSION_DENIED', `${where}cannot ${what}: the token lacks permission (${status})`, {
      hints,
      data: { status, ...(accepted ? { acceptedPermissions: accepted } : {}), ...(scopes ? { acceptedScopes: scopes } : {}) },
      cause: error,
    });
  }
  return new CofferError('GITHUB_REQUEST_FAILED', `${where}cannot ${what}: ${status ? `GitHub answered ${status}` : 'no answer from GitHub'} (${reason})`, {
    hints: status && status >= 500 ? ['GitHub had an error after retries; run the command again later'] : status ? ['check the repository name and the token'] : ['check the network and --api-url / GITHUB_API_URL'],
    data: { ...(status ? { status } : {}) },
    cause: error,
  });
}

/** owner/repo from a remote URL (https, ssh or scp-like), or undefined. */
export function parseRepositoryUrl(url: string): GitHubRepository | undefined {
  const match = /^(?:[a-z+]+:\/\/(?:[^@/]+@)?[^/]+(?::\d+)?\/|[^@\s]+@[^:\s]+:)(?:.*\/)?([^/\s]+)\/([^/\s]+?)(?:\.git)?\/?$/i.exec(url.trim());
  return match ? { owner: match[1]!, repo: match[2]! } : undefined;
}

/** owner/repo from GITHUB_REPOSITORY, else the origin remote's URL. */
export function resolveRepository(remoteUrl: string | undefined, env: Record<string, string | undefined>): GitHubRepository {
  const named = env['GITHUB_REPOSITORY'];
  if (named) {
    const [owner, repo, extra] = named.split('/');
    if (owner && repo && extra === undefined) return { owner, repo };
  }
  const parsed = remoteUrl ? parseRepositoryUrl(remoteUrl) : undefined;
  if (parsed) return parsed;
  throw new CofferError('USAGE', 'cannot tell which GitHub repository this is', {
    hints: ['add a remote named origin (`git remote add origin https://github.com/OWNER/REPO.git`), or set GITHUB_REPOSITORY=OWNER/REPO'],
  });
}
