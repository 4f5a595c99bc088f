// The GitHub layer against the double, whose every request and response is checked against
// GitHub's OpenAPI description (the last assertion of each test: no violations).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCofferError } from '../../src/errors.js';
import { listApprovals } from '../../src/github/approvals.js';
import { createGitHubClient, parseRepositoryUrl, resolveGitHubSettings, resolveRepository } from '../../src/github/client.js';
import { parseCodeOwners, ownersOfPath, resolveReviewers } from '../../src/github/owners.js';
import { findOpenPullRequestBranches, findOrCreatePullRequest } from '../../src/github/pull-request.js';
import { parseCofferConfig } from '../../src/policy/coffer-config.js';
import { type GitHubDouble, startGitHubDouble } from '../helpers/github-double/server.js';

const TOKEN = 'ghp_double_token';
const repository = { owner: 'acme', repo: 'vault' };
const branches = new Map<string, string>();
let double: GitHubDouble;

beforeEach(async () => {
  branches.clear();
  branches.set('main', 'a'.repeat(40));
  branches.set('coffer/rotate-prod-2026-11-23', 'b'.repeat(40));
  double = await startGitHubDouble({ ...repository, token: TOKEN, login: 'coffer-bot', branchCommit: (branch) => branches.get(branch) });
});

afterEach(async () => {
  await double.stop();
});

const client = (options: { token?: string; baseUrl?: string } = {}) => createGitHubClient({ token: TOKEN, baseUrl: double.url, retryUnitMs: 1, pacing: false, ...options });
const spec = { head: 'coffer/rotate-prod-2026-11-23', title: 'Rotate prod secrets', body: 'table', labels: ['coffer', 'env:prod'], reviewers: ['alice', 'coffer-bot'], teamReviewers: ['security'] };

describe('findOrCreatePullRequest', () => {
  it('creates once, then finds the same pull request; a new body updates it', async () => {
    const octokit = client();
    const first = await findOrCreatePullRequest(octokit, repository, spec);
    expect(first).toMatchObject({ number: 1, action: 'created', url: 'https://github.com/acme/vault/pull/1' });
    expect(double.pulls[0]).toMatchObject({ base: 'main', head: spec.head, labels: ['coffer', 'env:prod'], requestedReviewers: ['alice'], requestedTeams: ['security'] });

    const again = await findOrCreatePullRequest(octokit, repository, spec);
    expect(again).toEqual({ number: 1, url: first.url, action: 'unchanged' });
    const writes = double.requests.filter((request) => request.method !== 'GET');
    expect(writes.map((request) => request.operationId)).toEqual(['pulls/create', 'issues/add-labels', 'pulls/request-reviewers']);

    // once alice reviews, GitHub drops her from the requested reviewers: she is not asked again
    double.addReview({ pull: 1, user: 'alice', state: 'COMMENTED' });
    double.pulls[0]!.requestedReviewers = [];
    expect((await findOrCreatePullRequest(octokit, repository, spec)).action).toBe('unchanged');
    expect(double.pulls[0]!.requestedReviewers).toEqual([]);
    // a new owner is asked
    expect((await findOrCreatePullRequest(octokit, repository, { ...spec, reviewers: ['alice', 'dave'] })).action).toBe('updated');
    expect(double.pulls[0]!.requestedReviewers).toEqual(['dave']);

    const updated = await findOrCreatePullRequest(octokit, repository, { ...spec, body: 'new table' });
    expect(updated.action).toBe('updated');
    expect(double.pulls).toHaveLength(1);
    expect(double.pulls[0]!.body).toBe('new table');
    expect(double.violations).toEqual([]);
  });

  it('reads every page of open pull requests', async () => {
    for (let index = 0; index < 130; index++) double.addPull({ head: `feature/${index}`, author: 'alice', sha: index.toString(16).padStart(40, '0'), state: 'open' });
    double.addPull({ head: 'coffer/rotate-prod-2026-11-01', author: 'coffer-bot', sha: 'c'.repeat(40), state: 'open' });
    const found = await findOpenPullRequestBranches(client(), repository, 'coffer/rotate-prod-');
    expect(found).toEqual(['coffer/rotate-prod-2026-11-01']);
    expect(double.requests.filter((request) => request.operationId === 'pulls/list').map((request) => new URL(request.path, 'http://x').searchParams.get('page') ?? '1')).toEqual(['1', '2']);
    expect(double.violations).toEqual([]);
  });

  it('retries 5xx and secondary rate limits, then succeeds', async () => {
    double.failNext({ method: 'GET', template: '/repos/{owner}/{repo}/pulls', status: 502, times: 2 });
    double.failNext({ method: 'POST', template: '/repos/{owner}/{repo}/pulls', status: 403, message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', headers: { 'retry-after': '1' } });
    const waits: string[] = [];
    const result = await findOrCreatePullRequest(createGitHubClient({ token: TOKEN, baseUrl: double.url, retryUnitMs: 1, pacing: false, onWait: (message) => waits.push(message) }), repository, spec);
    expect(result.action).toBe('created');
    expect(double.requests.slice(0, 3).map((request) => request.status)).toEqual([502, 502, 200]);
    expect(double.requests.filter((request) => request.operationId === 'pulls/create').map((request) => request.status)).toEqual([403, 201]);
    expect(waits.some((message) => message.includes('secondary'))).toBe(true);
    expect(double.violations).toEqual([]);
  });

  it('waits for the primary rate limit to reset, then retries', async () => {
    const reset = String(Math.floor(Date.now() / 1000));
    double.failNext({ method: 'GET', template: '/repos/{owner}/{repo}/pulls', status: 403, message: 'API rate limit exceeded for user ID 1.', headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset } });
    const waits: string[] = [];
    const result = await findOrCreatePullRequest(createGitHubClient({ token: TOKEN, baseUrl: double.url, retryUnitMs: 1, pacing: false, onWait: (message) => waits.push(message) }), repository, spec);
    expect(result.action).toBe('created');
    expect(double.requests.slice(0, 2).map((request) => request.status)).toEqual([403, 200]);
    expect(waits.some((message) => message.includes('primary rate limit'))).toBe(true);
    expect(double.violations).toEqual([]);
  });

  it('gives up after the retries with a clear error', async () => {
    double.failNext({ method: 'GET', template: '/repos/{owner}/{repo}/pulls', status: 503, times: 10 });
    const error = await findOrCreatePullRequest(client(), repository, spec).catch((caught: unknown) => caught);
    expect(isCofferError(error) && error.code).toBe('GITHUB_REQUEST_FAILED');
    expect((error as Error).message).toContain('acme/vault: cannot list the pull requests of coffer/rotate-prod-2026-11-23: GitHub answered 503');
    expect(double.requests).toHaveLength(4);
  });

  it('names the missing permission, a rejected token and a missing token', async () => {
    double.failNext({ method: 'POST', template: '/repos/{owner}/{repo}/pulls', status: 403, message: 'Resource not accessible by integration', headers: { 'x-accepted-github-permissions': 'pull_requests=write' } });
    const denied = await findOrCreatePullRequest(client(), repository, spec).catch((caught: unknown) => caught);
    expect(isCofferError(denied) && denied.code).toBe('GITHUB_PERMISSION_DENIED');
    expect((denied as { hints: string[] }).hints[0]).toBe('the token needs fine-grained permission pull_requests=write');

    const rejected = await findOrCreatePullRequest(client({ token: 'nope' }), repository, spec).catch((caught: unknown) => caught);
    expect(isCofferError(rejected) && rejected.code).toBe('GITHUB_PERMISSION_DENIED');
    expect((rejected as Error).message).toContain('401');

    const missing = (() => {
      try {
        return createGitHubClient({ baseUrl: double.url }, 'coffer rotate --due');
      } catch (caught) {
        return caught;
      }
    })();
    expect(isCofferError(missing) && missing.code).toBe('GITHUB_TOKEN_MISSING');
    expect((missing as { hints: string[] }).hints[0]).toContain('GITHUB_TOKEN');
    expect(double.violations).toEqual([]);
  });

  it('reports a branch with nothing to merge', async () => {
    branches.set(spec.head, branches.get('main')!);
    const error = await findOrCreatePullRequest(client(), repository, spec).catch((caught: unknown) => caught);
    expect(isCofferError(error) && error.code).toBe('BRANCH_CONFLICT');
    expect(double.violations).toEqual([]);
  });

  it('works against a GitHub Enterprise base URL', async () => {
    await double.stop();
    double = await startGitHubDouble({ ...repository, token: TOKEN, branchCommit: (branch) => branches.get(branch), pathPrefix: '/api/v3' });
    const settings = resolveGitHubSettings({}, { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: `${double.url}/api/v3/` });
    expect(settings.baseUrl).toBe(`${double.url}/api/v3`);
    const result = await findOrCreatePullRequest(createGitHubClient({ ...settings, retryUnitMs: 1, pacing: false }), repository, spec);
    expect(result.action).toBe('created');
    expect(double.violations).toEqual([]);
  });
});

describe('listApprovals', () => {
  it('flags a direct push, a self-approved pull request and too few approvals', async () => {
    const reviewed = double.addMergedPull({ head: 'good', author: 'alice', commits: ['1'.repeat(40)] });
    double.addReview({ pull: reviewed.number, user: 'bob', state: 'APPROVED' });
    const self = double.addMergedPull({ head: 'self', author: 'carol', commits: ['2'.repeat(40)] });
    double.addReview({ pull: self.number, user: 'carol', state: 'APPROVED' });
    const changed = double.addMergedPull({ head: 'changed', author: 'alice', commits: ['3'.repeat(40)] });
    double.addReview({ pull: changed.number, user: 'bob', state: 'APPROVED' });
    double.addReview({ pull: changed.number, user: 'bob', state: 'CHANGES_REQUESTED' });
    double.addReview({ pull: changed.number, user: 'dave', state: 'COMMENTED' });
    const change = (commit: string) => ({ commit, subject: 's', files: ['secrets/prod.yaml'], required: 1, environments: ['prod'] });
    const results = await listApprovals(client(), repository, ['1', '2', '3', '4'].map((digit) => change(digit.repeat(40))), { defaultBranch: 'main' });
    const strict = await listApprovals(client(), repository, [{ ...change('1'.repeat(40)), required: 2 }], { defaultBranch: 'main' });
    expect(strict[0]).toMatchObject({ approvers: ['bob'], problem: 'not enough approvals' });
    expect(results.map((result) => [result.pullRequest?.number ?? null, result.approvers, result.problem ?? 'ok'])).toEqual([
      [1, ['bob'], 'ok'],
      [2, [], 'self-approved'],
      [3, [], 'not enough approvals'],
      [null, [], 'direct push'],
    ]);
    expect(double.violations).toEqual([]);
  });
});

describe('repository names and reviewers', () => {
  it('reads owner/repo from remotes and GITHUB_REPOSITORY', () => {
    expect(parseRepositoryUrl('https://github.com/acme/vault.git')).toEqual(repository);
    expect(parseRepositoryUrl('git@github.com:acme/vault.git')).toEqual(repository);
    expect(parseRepositoryUrl('ssh://git@ghe.example.com:2222/acme/vault')).toEqual(repository);
    expect(parseRepositoryUrl('https://x-access-token:t@ghe.example.com/acme/vault.git')).toEqual(repository);
    expect(resolveRepository(undefined, { GITHUB_REPOSITORY: 'acme/vault' })).toEqual(repository);
    expect(() => resolveRepository(undefined, {})).toThrow(/which GitHub repository/);
  });

  it('takes reviewers from coffer.yaml owners, else CODEOWNERS', () => {
    const config = parseCofferConfig(
      `version: 1
recipients:
  alice: { age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p, github: alice-gh }
  bob: { age: age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg }
groups:
  ops: [alice, bob]
environments:
  prod: { files: ["secrets/prod/**"], readers: [ops], owners: [ops], approvals: { required: 2 } }
  dev: { files: ["secrets/dev/**"], readers: [bob] }
`,
      'coffer.yaml',
      '/repo',
    );
    const [prod, dev] = config.environments;
    expect(prod).toMatchObject({ owners: ['ops'], requiredApprovals: 2 });
    expect(resolveReviewers(config, prod, ['secrets/prod/db.yaml'])).toEqual({ reviewers: ['alice-gh'], teamReviewers: [], source: 'coffer.yaml' });
    const codeowners = '# owners\n* @acme/everyone\nsecrets/ @acme/security @dave\n/secrets/dev/*.yaml @erin dev@example.com\n';
    expect(resolveReviewers(config, dev, ['secrets/dev/app.yaml'], codeowners)).toEqual({ reviewers: ['erin'], teamReviewers: [], source: 'CODEOWNERS' });
    expect(resolveReviewers(config, dev, ['secrets/dev/sub/app.yaml'], codeowners)).toEqual({ reviewers: ['dave'], teamReviewers: ['security'], source: 'CODEOWNERS' });
    expect(ownersOfPath(parseCodeOwners(codeowners), 'README.md')).toEqual(['@acme/everyone']);
    expect(() => parseCofferConfig('version: 1\nrecipients:\n  bob: { age: age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg }\nenvironments:\n  dev: { files: ["x"], readers: [bob], owners: [carol] }\n', 'coffer.yaml', '/repo')).toThrow(
      /^coffer\.yaml:\d+: environments\.dev\.owners names "carol", which is neither a recipient nor a group$/,
    );
    expect(() => parseCofferConfig('version: 1\nrecipients:\n  bob: { age: age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg }\nenvironments:\n  dev: { files: ["x"], readers: [bob], approvals: { needed: 2 } }\n', 'coffer.yaml', '/repo')).toThrow(/unknown field "needed"/);
    expect(resolveReviewers(config, dev, ['x'])).toEqual({ reviewers: [], teamReviewers: [], source: 'none' });
  });
});
