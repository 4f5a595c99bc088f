// End to end: `coffer rotate --due`, `coffer revoke NAME --pr` and `coffer audit --approvals` on a
// temp repository whose origin is a real git smart-HTTP server and whose GitHub is the double
// that validates every request and response against GitHub's OpenAPI description.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepository, type GitHttpServer, runGit, runGitAsync, startGitHttpServer } from '../helpers/git-http-server.js';
import { type GitHubDouble, startGitHubDouble } from '../helpers/github-double/server.js';
import { makeTestKey, type TestKey } from '../helpers/keys.js';
import { createSandbox, runInProcess, type Sandbox } from './sandbox.js';

const TOKEN = 'ghs_e2e_token';
let sandbox: Sandbox;
let server: GitHttpServer;
let double: GitHubDouble;
let bare: string;
let work: string;
let bob: TestKey;
let env: Record<string, string | undefined>;

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

function bareCommit(ref: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '-q', `refs/heads/${ref}`], { cwd: bare, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function commitAt(date: string, message: string, paths: string[]): string {
  runGit(work, ['add', ...paths]);
  execFileSync('git', ['commit', '-q', '-m', message], {
    cwd: work,
    env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date, GIT_AUTHOR_NAME: 'Alice', GIT_AUTHOR_EMAIL: 'alice@example.com', GIT_COMMITTER_NAME: 'Alice', GIT_COMMITTER_EMAIL: 'alice@example.com', HOME: sandbox.path('home') },
  });
  return runGit(work, ['rev-parse', 'HEAD']).trim();
}

const runIn = (argv: string[], extra: Record<string, string | undefined> = {}) => runInProcess(argv, work, { ...env, ...extra });

const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    db: { type: 'object', properties: { password: { type: 'string', 'x-coffer': { kind: 'password', rotate: '90d' } } } },
    stripe: { type: 'object', properties: { key: { type: 'string', 'x-coffer': { kind: 'opaque', rotate: '180d' } } } },
    cache: { type: 'object', properties: { key: { type: 'string', 'x-coffer': { kind: 'hex', rotate: '90d' } } } },
  },
};

beforeAll(async () => {
  sandbox = await createSandbox();
  bob = await makeTestKey();
  const root = mkdtempSync(join(sandbox.dir, 'srv-'));
  bare = createBareRepository(root, 'acme/vault.git');
  server = await startGitHttpServer({ root, token: TOKEN });
  double = await startGitHubDouble({ owner: 'acme', repo: 'vault', token: TOKEN, login: 'coffer-bot', branchCommit: bareCommit });
  work = sandbox.path('vault');
  mkdirSync(join(work, 'secrets'), { recursive: true });
  mkdirSync(join(work, 'schemas'));
  runGit(work, ['init', '-q', '-b', 'main']);
  runGit(work, ['remote', 'add', 'origin', server.repositoryUrl('acme/vault.git')]);
  writeFileSync(
    join(work, 'coffer.yaml'),
    `version: 1
recipients:
  me: { age: ${sandbox.recipient}, github: me-gh }
  bob: { age: ${bob.recipient}, github: bob-gh }
environments:
  prod:
    files: ["secrets/prod.yaml"]
    readers: [me, bob]
    schema: schemas/prod.schema.json
    owners: [me]
    approvals: { required: 1 }
`,
  );
  writeFileSync(join(work, 'schemas', 'prod.schema.json'), JSON.stringify(SCHEMA, null, 2));
  writeFileSync(join(work, 'secrets', 'prod.yaml'), 'db:\n  password: canary-old-db-password\nstripe:\n  key: canary-old-stripe-key\n');
  env = { ...sandbox.env, GITHUB_TOKEN: TOKEN, GITHUB_API_URL: double.url, COFFER_GITHUB_PACING: '0' };
  const encrypted = await runIn(['encrypt', '-i', 'secrets/prod.yaml']);
  expect(encrypted.code).toBe(0);
  commitAt(daysAgo(200), 'add prod secrets', ['coffer.yaml', 'schemas', 'secrets']);
  // the cache key is 70 days old: due within a 30-day window, not within 14 days
  const added = await runIn(['set', 'secrets/prod.yaml', 'cache.key', '--value', 'canary-old-cache-key']);
  expect(added.code).toBe(0);
  commitAt(daysAgo(70), 'add the cache key', ['secrets/prod.yaml']);
  await runGitAsync(work, ['push', '-q', server.repositoryUrl('acme/vault.git').replace('http://', `http://x-access-token:${TOKEN}@`), 'main']);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await double?.stop();
  await sandbox?.dispose();
});

async function cloneBranch(branch: string): Promise<string> {
  const target = mkdtempSync(join(sandbox.dir, 'clone-'));
  await runGitAsync(sandbox.dir, ['clone', '-q', '--branch', branch, server.repositoryUrl('acme/vault.git').replace('http://', `http://x-access-token:${TOKEN}@`), target]);
  return target;
}

const today = new Date().toISOString().slice(0, 10);
const branch = `coffer/rotate-prod-${today}`;

describe('coffer rotate --due', () => {
  it('--dry-run prints the plan and writes nothing', async () => {
    const result = await runIn(['rotate', '--due', '--dry-run', '--json']);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.plans).toEqual([
      {
        environment: 'prod',
        branch,
        secrets: [
          { file: 'secrets/prod.yaml', keyPath: 'db.password', environment: 'prod', state: 'overdue', ageDays: 200, policy: 'rotate 90d', generator: 'password' },
          { file: 'secrets/prod.yaml', keyPath: 'stripe.key', environment: 'prod', state: 'overdue', ageDays: 200, policy: 'rotate 180d' },
        ],
      },
    ]);
    expect(runGit(work, ['branch', '--list', 'coffer/*'])).toBe('');
    expect(double.requests).toEqual([]);
    const table = await runIn(['rotate', '--due', '--dry-run']);
    expect(table.stdout.split('\n')[0]).toMatch(/^BRANCH\s+KEY\s+STATUS\s+AGE\s+POLICY\s+CHANGE$/);
    expect(table.stdout).toMatch(/secrets\/prod.yaml: stripe.key\s+overdue\s+200d\s+rotate 180d\s+manual/);
    expect(table.stderr).toBe('[dry run] 2 due secrets in 1 pull request; nothing written\n');
  });

  it('plain rotate keeps needing files, and refuses --dry-run without --due', async () => {
    const before = readFileSync(join(work, 'secrets', 'prod.yaml'), 'utf8');
    const none = await runIn(['rotate']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('rotate needs files, or --due');
    const dry = await runIn(['rotate', '--dry-run', 'secrets/prod.yaml']);
    expect(dry.code).toBe(2);
    expect(readFileSync(join(work, 'secrets', 'prod.yaml'), 'utf8')).toBe(before);
    const files = await runIn(['rotate', '--due', 'secrets/prod.yaml']);
    expect(files.code).toBe(2);
    expect(files.stderr).toContain('--due takes no files');
  });

  it('fails before committing when there is no token', async () => {
    const result = await runIn(['rotate', '--due', '--json'], { GITHUB_TOKEN: undefined });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr).error.code).toBe('GITHUB_TOKEN_MISSING');
    expect(runGit(work, ['branch', '--list', 'coffer/*'])).toBe('');
  });

  it('first run: one commit on the branch, pushed, one pull request with the table and checklist', async () => {
    const head = runGit(work, ['rev-parse', 'HEAD']).trim();
    const before = readFileSync(join(work, 'secrets', 'prod.yaml'), 'utf8');
    // as git does, the GIT_AUTHOR_*/GIT_COMMITTER_* a CI job sets win over user.name/user.email
    const result = await runIn(['rotate', '--due'], { GIT_AUTHOR_NAME: 'Rotation Bot', GIT_AUTHOR_EMAIL: 'rotation@example.com', GIT_COMMITTER_NAME: 'CI Runner', GIT_COMMITTER_EMAIL: 'ci@example.com' });
    expect(result.stderr).toContain('prod: coffer/rotate-prod-');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('https://github.com/acme/vault/pull/1 (created)\n');
    // the working tree and HEAD are untouched
    expect(runGit(work, ['rev-parse', 'HEAD']).trim()).toBe(head);
    expect(readFileSync(join(work, 'secrets', 'prod.yaml'), 'utf8')).toBe(before);

    const clone = await cloneBranch(branch);
    expect(runGit(clone, ['log', '--format=%P %s', '-n', '1']).trim()).toBe(`${head} coffer: rotate 1 generated secret in prod`);
    expect(runGit(clone, ['log', '--format=%an <%ae> | %cn <%ce>', '-n', '1']).trim()).toBe('Rotation Bot <rotation@example.com> | CI Runner <ci@example.com>');
    const diff = runGit(clone, ['diff', '--unified=0', 'HEAD~1', 'HEAD', '--', 'secrets/prod.yaml']);
    const changed = diff.split('\n').filter((line) => /^[-+] /.test(line));
    // only db.password's ciphertext and the metadata (lastmodified, mac) change
    expect(changed.filter((line) => line.includes('password:'))).toHaveLength(2);
    expect(changed.filter((line) => line.includes('key: ENC['))).toHaveLength(0);
    const decrypted = await runIn(['decrypt', join(clone, 'secrets/prod.yaml')]);
    expect(decrypted.stdout).not.toContain('canary-old-db-password');
    expect(decrypted.stdout).toContain('canary-old-stripe-key');
    expect(decrypted.stdout).toContain('canary-old-cache-key');

    expect(double.pulls).toHaveLength(1);
    const pull = double.pulls[0]!;
    expect(pull).toMatchObject({ head: branch, base: 'main', title: 'coffer: rotate 2 secrets in prod', labels: ['coffer', 'coffer:rotation', 'env:prod'], requestedReviewers: ['me-gh'], headSha: bareCommit(branch) });
    expect(pull.body).toContain('| `secrets/prod.yaml: db.password` | prod | 200d | rotate 90d (overdue) | generated (password) |');
    expect(pull.body).toContain('| `secrets/prod.yaml: stripe.key` | prod | 200d | rotate 180d (overdue) | manual |');
    expect(pull.body).toContain('- [ ] `secrets/prod.yaml: stripe.key` (rotate 180d)');
    expect(pull.body).not.toContain('canary');
    expect(pull.body).not.toContain('ENC[');
    expect(double.violations).toEqual([]);
  }, 60_000);

  it('second run: no commit, no push, no second pull request', async () => {
    const tip = bareCommit(branch);
    const writes = double.requests.filter((request) => request.method !== 'GET').length;
    const pushesBefore = server.requests.filter((request) => request.path.endsWith('git-receive-pack')).length;
    const result = await runIn(['rotate', '--due']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('https://github.com/acme/vault/pull/1 (unchanged)\n');
    expect(bareCommit(branch)).toBe(tip);
    expect(double.requests.filter((request) => request.method !== 'GET')).toHaveLength(writes);
    expect(server.requests.filter((request) => request.path.endsWith('git-receive-pack'))).toHaveLength(pushesBefore);
    expect(double.pulls).toHaveLength(1);
    expect(double.violations).toEqual([]);
  }, 60_000);

  it('a newly due secret updates the same branch and pull request', async () => {
    const tip = bareCommit(branch)!;
    const result = await runIn(['rotate', '--due', '--window', '30d']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('https://github.com/acme/vault/pull/1 (updated)\n');
    const clone = await cloneBranch(branch);
    expect(runGit(clone, ['log', '--format=%P %s', '-n', '1']).trim()).toBe(`${tip} coffer: rotate 2 generated secrets in prod`);
    // db.password was rotated by the first run and stays as it was; only cache.key changes now
    const diff = runGit(clone, ['diff', '--unified=0', 'HEAD~1', 'HEAD', '--', 'secrets/prod.yaml']).split('\n').filter((line) => /^[-+] /.test(line));
    expect(diff.filter((line) => line.includes('password:'))).toHaveLength(0);
    expect(diff.filter((line) => /^[-+]\s+key: ENC\[/.test(line))).toHaveLength(2);
    expect(double.pulls).toHaveLength(1);
    expect(double.pulls[0]!.title).toBe('coffer: rotate 3 secrets in prod');
    expect(double.pulls[0]!.body).toContain('| `secrets/prod.yaml: cache.key` | prod | 70d | rotate 90d (due soon) | generated (hex) |');
    expect(double.violations).toEqual([]);
  }, 60_000);

  it('--no-push commits locally only', async () => {
    const local = await runIn(['rotate', '--due', '--no-push', '--window', '30d']);
    expect(local.code).toBe(0);
    expect(local.stdout).toBe('');
    expect(runGit(work, ['branch', '--list', 'coffer/*']).trim()).toBe(branch);
  }, 60_000);
});

describe('coffer revoke NAME --pr', () => {
  it('without a token fails before any file or coffer.yaml changes', async () => {
    const policy = readFileSync(join(work, 'coffer.yaml'), 'utf8');
    const file = readFileSync(join(work, 'secrets', 'prod.yaml'), 'utf8');
    const result = await runIn(['revoke', 'bob', '--pr'], { GITHUB_TOKEN: undefined });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('coffer revoke --pr needs a GitHub token');
    expect(readFileSync(join(work, 'coffer.yaml'), 'utf8')).toBe(policy);
    expect(readFileSync(join(work, 'secrets', 'prod.yaml'), 'utf8')).toBe(file);
  });

  it('opens the offboarding pull request with what bob could read as a checklist', async () => {
    const result = await runIn(['revoke', 'bob', '--pr']);
    expect(result.code).toBe(0);
    const revokeBranch = `coffer/revoke-bob-${today}`;
    expect(result.stdout).toContain('https://github.com/acme/vault/pull/2 (created)');
    const clone = await cloneBranch(revokeBranch);
    expect(readFileSync(join(clone, 'coffer.yaml'), 'utf8')).not.toContain('bob:');
    expect(readFileSync(join(clone, 'secrets', 'prod.yaml'), 'utf8')).not.toContain(bob.recipient);
    const pull = double.pulls[1]!;
    expect(pull).toMatchObject({ head: revokeBranch, title: 'coffer: offboard bob', labels: ['coffer', 'coffer:offboarding'] });
    for (const keyPath of ['db.password', 'stripe.key', 'cache.key']) expect(pull.body).toContain(`- [ ] \`secrets/prod.yaml: ${keyPath}\``);
    expect(pull.body).not.toContain('canary');
    expect(double.violations).toEqual([]);
  }, 60_000);
});

describe('coffer audit --approvals', () => {
  it('flags a direct push and a self-approved pull request', async () => {
    const commits = runGit(work, ['log', '--format=%H', 'main']).trim().split('\n').reverse();
    // the first commit came through a pull request approved only by its author; the second was pushed directly
    const self = double.addMergedPull({ head: 'add-secrets', author: 'alice', commits: [commits[0]!] });
    double.addReview({ pull: self.number, user: 'alice', state: 'APPROVED' });
    const result = await runIn(['audit', '--approvals', '--json']);
    expect(result.code).toBe(3);
    const report = JSON.parse(result.stdout);
    expect(report.changes.map((change: { commit: string; problem?: string; pullRequest?: { number: number } }) => [change.commit, change.pullRequest?.number ?? null, change.problem ?? 'ok'])).toEqual([
      [commits[0], self.number, 'self-approved'],
      [commits[1], null, 'direct push'],
    ]);
    expect(double.violations).toEqual([]);
  }, 60_000);
});
