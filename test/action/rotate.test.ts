// Rotate mode of the bundled Action: `coffer rotate --due` end to end on a temp repository whose
// origin is a real git smart-HTTP server and whose GitHub is the OpenAPI-validated double; the
// token and identity masked before anything runs, pull requests as an output and in the summary.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptDocument, openFile } from '../../src/file/secrets-file.js';
import { getStore } from '../../src/format/stores/index.js';
import { createBareRepository, type GitHttpServer, runGit, runGitAsync, startGitHttpServer } from '../helpers/git-http-server.js';
import { type GitHubDouble, startGitHubDouble } from '../helpers/github-double/server.js';
import { keyRingFor, makeTestKey, planFor, type TestKey } from '../helpers/keys.js';
import { createRunnerFiles, firstUnmaskedUse, type RunnerFiles, runAction, runActionAsync } from './runner-env.js';

const TOKEN = 'ghs_FAKEactionToken0123456789';
const DAY = 86_400_000;
const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: { db: { type: 'object', properties: { password: { type: 'string', 'x-coffer': { kind: 'password', rotate: '90d' } } } } },
};

let root: string;
let runner: RunnerFiles;
let server: GitHttpServer;
let double: GitHubDouble;
let bare: string;
let work: string;
let alice: TestKey;

function bareCommit(ref: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '-q', `refs/heads/${ref}`], { cwd: bare, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const authenticated = () => server.repositoryUrl('acme/vault.git').replace('http://', `http://x-access-token:${TOKEN}@`);

beforeAll(async () => {
  alice = await makeTestKey();
  root = mkdtempSync(join(tmpdir(), 'coffer-action-rotate-'));
  runner = createRunnerFiles();
  const serverRoot = join(root, 'srv');
  mkdirSync(serverRoot);
  bare = createBareRepository(serverRoot, 'acme/vault.git');
  server = await startGitHttpServer({ root: serverRoot, token: TOKEN });
  double = await startGitHubDouble({ owner: 'acme', repo: 'vault', token: TOKEN, login: 'github-actions', branchCommit: bareCommit });
  work = join(root, 'vault');
  mkdirSync(join(work, 'secrets'), { recursive: true });
  mkdirSync(join(work, 'schemas'));
  runGit(work, ['init', '-q', '-b', 'main']);
  runGit(work, ['remote', 'add', 'origin', server.repositoryUrl('acme/vault.git')]);
  writeFileSync(
    join(work, 'coffer.yaml'),
    `version: 1\nrecipients:\n  ci: { age: ${alice.recipient} }\nenvironments:\n  prod:\n    files: ["secrets/prod.yaml"]\n    readers: [ci]\n    schema: schemas/prod.schema.json\n`,
  );
  writeFileSync(join(work, 'schemas', 'prod.schema.json'), JSON.stringify(SCHEMA, null, 2));
  const plain = getStore('yaml').parse('db:\n  password: old-db-password-rtyui\n', 'secrets/prod.yaml');
  writeFileSync(join(work, 'secrets', 'prod.yaml'), await encryptDocument(plain, 'secrets/prod.yaml', keyRingFor(alice), { plan: planFor(alice) }));
  const date = new Date(Date.now() - 200 * DAY).toISOString();
  runGit(work, ['add', '-A']);
  execFileSync('git', ['commit', '-q', '-m', 'add prod secrets'], {
    cwd: work,
    env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date, GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@example.com', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@example.com', HOME: root },
  });
  await runGitAsync(work, ['push', '-q', authenticated(), 'main']);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await double?.stop();
  runner?.remove();
  rmSync(root, { recursive: true, force: true });
});

const rotateInputs = (extra: Record<string, string> = {}) => ({ mode: 'rotate', identity: alice.identity, token: TOKEN, window: '14d', 'dry-run': 'false', ...extra });
const extraEnv = () => ({ GITHUB_API_URL: double.url, COFFER_GITHUB_PACING: '0' });

describe('rotate mode', () => {
  it('fails clearly without a token', () => {
    const run = runAction(runner, { cwd: work, inputs: rotateInputs({ token: '' }) });
    expect(run.status).toBe(1);
    expect(run.log.find((line) => line.startsWith('::error'))).toMatch(/rotate mode needs a token/);
  });

  it('a dry run lists what is due and changes nothing', async () => {
    const run = await runActionAsync(runner, { cwd: work, inputs: rotateInputs({ 'dry-run': 'true' }), extraEnv: extraEnv() });
    expect(run.log.find((line) => line.startsWith('::error'))).toBeUndefined();
    expect(run.status).toBe(0);
    expect(run.summary).toContain('coffer rotate (dry run): 1 environment');
    expect(runGit(work, ['branch', '--list', 'coffer/*'])).toBe('');
    expect(double.requests).toEqual([]);
  });

  it('rotates what is due on a branch, opens the pull request with the token, and never logs a value', async () => {
    const run = await runActionAsync(runner, { cwd: work, inputs: rotateInputs(), extraEnv: extraEnv() });
    expect(run.log.find((line) => line.startsWith('::error'))).toBeUndefined();
    expect(run.status).toBe(0);
    expect(double.violations).toEqual([]);
    expect(double.pulls).toHaveLength(1);
    const pull = double.pulls[0]!;
    const urls = JSON.parse(run.outputs.get('pull-requests')!) as string[];
    expect(urls).toHaveLength(1);
    expect(urls[0]).toMatch(new RegExp(`/pull/${pull.number}$`));
    expect(run.summary).toContain(`\`${pull.head}\``);
    // the token and the identity were masked before anything else
    const firstPlain = run.log.findIndex((line) => !line.startsWith('::add-mask::'));
    expect(run.log.slice(0, firstPlain)).toEqual(expect.arrayContaining([`::add-mask::${TOKEN}`, `::add-mask::${alice.identity}`]));
    // the new password is on the pushed branch, encrypted, and appears nowhere in the log
    const clone = mkdtempSync(join(root, 'clone-'));
    await runGitAsync(root, ['clone', '-q', '--branch', pull.head, authenticated(), clone]);
    const opened = await openFile({ file: 'secrets/prod.yaml', store: 'yaml', content: readFileSync(join(clone, 'secrets', 'prod.yaml')) }, keyRingFor(alice));
    const rotated = opened.plain.getValue(['db', 'password']) as string;
    expect(rotated).not.toBe('old-db-password-rtyui');
    expect(firstUnmaskedUse(run, [rotated, 'old-db-password-rtyui'])).toBeUndefined();
    expect(run.stdout).not.toContain(rotated);
  });

  it('rejects an unknown mode', () => {
    const run = runAction(runner, { cwd: work, inputs: { mode: 'deploy' } });
    expect(run.status).toBe(1);
    expect(run.log.find((line) => line.startsWith('::error'))).toMatch(/mode must be decrypt, verify or rotate, not "deploy"/);
  });
});

describe('the rotation report', () => {
  it('reads the pull requests of `coffer rotate --due --json`, and the plans of a dry run', async () => {
    const { readRotationReport } = await import('../../action/src/rotate.js');
    expect(
      readRotationReport({
        dryRun: false,
        pullRequests: [
          { environment: 'prod', branch: 'coffer/rotate-prod-2026-11-23', committed: true, pushed: true, pullRequest: { url: 'https://github.com/o/r/pull/7', action: 'created' }, generated: ['a', 'b'] },
          { environment: 'dev', branch: 'coffer/rotate-dev-2026-11-23', committed: false, pushed: false, generated: [] },
        ],
      }),
    ).toEqual({
      dryRun: false,
      pullRequests: [
        { environment: 'prod', branch: 'coffer/rotate-prod-2026-11-23', url: 'https://github.com/o/r/pull/7', action: 'created', generated: 2 },
        { environment: 'dev', branch: 'coffer/rotate-dev-2026-11-23', generated: 0 },
      ],
    });
    expect(readRotationReport({ dryRun: true, plans: [{ environment: 'prod', branch: 'b' }] })).toEqual({ dryRun: true, pullRequests: [{ environment: 'prod', branch: 'b', generated: 0 }] });
    expect(readRotationReport(null)).toEqual({ dryRun: false, pullRequests: [] });
  });
});
