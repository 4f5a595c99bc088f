// `coffer revoke NAME --pr`: the offboarding as a pull request. The files revoke rewrote (new data
// keys) and coffer.yaml without the recipient are committed on `coffer/revoke-<name>-<date>`,
// pushed, and the pull request lists every value they could read as a checklist.
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import * as git from 'isomorphic-git';
import { readCommitIdentity } from '../../git/branch.js';
import { CODEOWNERS_PATHS, pullRequestLabels, resolveReviewers } from '../../github/owners.js';
import type { CofferConfig } from '../../policy/coffer-config.js';
import { offboardingBody } from '../../rotation/plan.js';
import { publishChange } from '../../rotation/publish.js';
import { type CliContext, note } from '../context.js';
import { connectGitHub, type GitHubCommandOptions } from '../github-remote.js';

export interface RevokedFile {
  /** Relative to coffer.yaml's directory. */
  path: string;
  environment: string | null;
  keyPaths: string[];
}

/** Commits what `coffer revoke` wrote and opens (or updates) the offboarding pull request. */
export async function openOffboardingPullRequest(
  context: CliContext,
  name: string,
  config: CofferConfig,
  files: readonly RevokedFile[],
  options: GitHubCommandOptions & { quiet?: boolean; json?: boolean },
): Promise<{ branch: string; commit: string; url?: string; action?: string }> {
  const dir = await git.findRoot({ fs, filepath: config.dir });
  const remote = options.push === false ? undefined : await connectGitHub(context, dir, options, 'coffer revoke --pr');
  const toRepository = (absolute: string) => relative(dir, absolute).split(sep).join('/');
  const paths = [...files.map((file) => toRepository(join(config.dir, file.path))), toRepository(config.path)];
  const environments = [...new Set(files.map((file) => file.environment).filter((environment): environment is string => environment !== null))];
  const codeOwners = await Promise.all(CODEOWNERS_PATHS.map((path) => readFile(join(dir, path), 'utf8').catch(() => undefined))).then((texts) => texts.find((text) => text !== undefined));
  const reviewerSets = environments.map((environment) => resolveReviewers(config, config.environments.find((candidate) => candidate.name === environment), paths, codeOwners));
  const date = new Date().toISOString().slice(0, 10);
  const result = await publishChange({
    fs,
    dir,
    branch: `coffer/revoke-${name}-${date}`,
    reusePrefix: `coffer/revoke-${name}-`,
    paths,
    ...(await readCommitIdentity({ fs, dir }, context.env)),
    message: `coffer: offboard ${name}\n\nNew data keys for ${files.length} file${files.length === 1 ? '' : 's'}; ${name} removed from coffer.yaml.\n`,
    remote,
    pullRequest: {
      title: `coffer: offboard ${name}`,
      body: offboardingBody(name, files),
      labels: pullRequestLabels('offboarding'),
      reviewers: [...new Set(reviewerSets.flatMap((set) => set.reviewers))],
      teamReviewers: [...new Set(reviewerSets.flatMap((set) => set.teamReviewers))],
    },
    buildFiles: async () => new Map(await Promise.all(paths.map(async (path) => [path, await readFile(join(dir, path))] as const))),
  });
  note(context, options.quiet || options.json, `${result.branch}: ${result.committed ? `committed ${result.commit.slice(0, 7)}` : 'no new commit'}${result.pushed ? ', pushed' : ''}`);
  if (result.pullRequest && !options.json) context.stdout.write(`${result.pullRequest.url} (${result.pullRequest.action})\n`);
  return { branch: result.branch, commit: result.commit, ...(result.pullRequest ? { url: result.pullRequest.url, action: result.pullRequest.action } : {}) };
}
