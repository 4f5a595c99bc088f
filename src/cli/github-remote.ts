// What the pull-request commands share: the GitHub options (--token, --api-url, --no-push), the
// repository from the origin remote or GITHUB_REPOSITORY, its HTTPS URL and the API client.
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { CofferError } from '../errors.js';
import { readRemoteUrl } from '../git/push.js';
import { createGitHubClient, type GitHubClient, type GitHubRepository, parseRepositoryUrl, resolveGitHubSettings, resolveRepository } from '../github/client.js';
import type { PublishRemote } from '../rotation/publish.js';
import type { CliContext } from './context.js';

export interface GitHubCommandOptions {
  token?: string;
  apiUrl?: string;
  /** `--no-push` sets it false. */
  push?: boolean;
}

export function addGitHubOptions(command: Command, push = true): Command {
  command
    .option('--token <token>', 'GitHub token (default: GITHUB_TOKEN, which keeps it out of the process list); needs contents: write and pull-requests: write')
    .option('--api-url <url>', 'GitHub API URL for GitHub Enterprise Server, e.g. https://HOST/api/v3 (default: GITHUB_API_URL or https://api.github.com)');
  if (push) command.option('--no-push', 'commit on the branch locally; no push and no pull request');
  return command;
}

/** The HTTPS URL git pushes to: the remote as it is when it is HTTP(S), else built from its host. */
function httpsRemoteUrl(remoteUrl: string | undefined, repository: GitHubRepository, apiUrl: string): string {
  if (remoteUrl && /^https?:\/\//i.test(remoteUrl)) return remoteUrl;
  const host = remoteUrl ? (/^(?:[a-z+]+:\/\/)?(?:[^@/]+@)?([^:/]+)/i.exec(remoteUrl)?.[1] ?? 'github.com') : new URL(apiUrl).host.replace(/^api\./, '');
  return `https://${host}/${repository.owner}/${repository.repo}.git`;
}

export interface GitHubConnection extends PublishRemote {
  baseUrl: string;
}

/** Connects to GitHub for `what`; GITHUB_TOKEN_MISSING before anything is written when there is no token. */
export async function connectGitHub(context: CliContext, dir: string, options: GitHubCommandOptions, what: string): Promise<GitHubConnection> {
  const settings = resolveGitHubSettings(options, context.env);
  const octokit: GitHubClient = createGitHubClient(
    { ...settings, ...(context.env['COFFER_GITHUB_PACING'] === '0' ? { pacing: false } : {}), onWait: (message) => context.stderr.write(`coffer: ${message}\n`) },
    what,
  );
  const remoteUrl = await readRemoteUrl({ fs, dir });
  const repository = resolveRepository(remoteUrl, context.env);
  if (remoteUrl && !parseRepositoryUrl(remoteUrl) && !context.env['GITHUB_REPOSITORY']) {
    throw new CofferError('USAGE', 'the origin remote is not a GitHub repository URL', { hints: ['set GITHUB_REPOSITORY=OWNER/REPO'] });
  }
  return { octokit, repository, url: httpsRemoteUrl(remoteUrl, repository, settings.baseUrl), token: settings.token!, baseUrl: settings.baseUrl };
}
