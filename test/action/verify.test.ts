// Verify mode of the bundled Action on a real git repository: only the pull request's changed
// files are checked (base from the event payload), problems become annotations at repository
// paths, the SARIF report is written for upload-sarif, and problems fail the step.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptDocument } from '../../src/file/secrets-file.js';
import { getStore } from '../../src/format/stores/index.js';
import { keyRingFor, makeTestKey, planFor, type TestKey } from '../helpers/keys.js';
import { type ActionRun, createRunnerFiles, type RunnerFiles, runAction } from './runner-env.js';

let repo: string;
let runner: RunnerFiles;
let alice: TestKey;
let baseSha: string;

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1', HOME: repo },
  }).trim();
}

function write(path: string, text: string): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), text);
}

async function encrypted(path: string, text: string): Promise<string> {
  return encryptDocument(getStore('yaml').parse(text, path), path, keyRingFor(alice), { plan: planFor(alice) });
}

function verifyRun(inputs: Record<string, string>, event: unknown): ActionRun {
  for (const file of [runner.output, runner.env, runner.state, runner.summary]) writeFileSync(file, '');
  const eventPath = join(runner.root, 'event.json');
  writeFileSync(eventPath, JSON.stringify(event));
  return runAction(runner, { cwd: repo, inputs: { mode: 'verify', ...inputs }, extraEnv: { GITHUB_EVENT_PATH: eventPath, GITHUB_EVENT_NAME: 'pull_request' } });
}

beforeAll(async () => {
  alice = await makeTestKey();
  repo = mkdtempSync(join(tmpdir(), 'coffer-action-repo-'));
  runner = createRunnerFiles();
  git('init', '-q', '-b', 'main');
  // the policy sits below the repository root: annotations must still name repository paths
  write('infra/.sops.yaml', `creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: ${alice.recipient}\n`);
  write('infra/secrets/good.yaml', await encrypted('secrets/good.yaml', 'db:\n  password: fine-password-qwerty\n'));
  write('README.md', 'hello\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
  baseSha = git('rev-parse', 'HEAD');
  git('checkout', '-q', '-b', 'feature');
  write('infra/secrets/leak.yaml', 'api:\n  token: plaintext-token-zxcvb\n');
  write('README.md', 'hello again\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'leak a secret');
});

afterAll(() => {
  runner.remove();
  rmSync(repo, { recursive: true, force: true });
});

describe('verify mode', () => {
  it("annotates a plaintext file the pull request adds at its repository path, writes SARIF and fails the step", () => {
    const run = verifyRun({ 'working-directory': 'infra', 'sarif-file': 'coffer.sarif' }, { pull_request: { base: { sha: baseSha } } });
    expect(run.status).toBe(1);
    const annotation = run.log.find((line) => line.startsWith('::error title=coffer%3A not-encrypted'));
    expect(annotation).toBeDefined();
    // a whole-file problem, annotated on the first line the pull request added, so it shows in the diff
    expect(annotation).toContain('file=infra/secrets/leak.yaml,line=1::');
    expect(run.log.at(-1)).not.toContain('plaintext-token-zxcvb');
    expect(run.stdout).not.toContain('plaintext-token-zxcvb');
    // the step's failure line, separate from the annotations
    expect(run.log.some((line) => /^::error title=coffer::coffer verify found 1 error in 1 file$/.test(line))).toBe(true);
    expect(run.outputs.get('problems')).toBe('1');
    const sarifPath = run.outputs.get('sarif-file')!;
    expect(sarifPath).toBe(join(repo, 'coffer.sarif'));
    const sarif = JSON.parse(readFileSync(sarifPath, 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    const location = sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation;
    expect(location).toEqual({ uri: 'infra/secrets/leak.yaml' });
    expect(run.summary).toContain('not-encrypted');
    rmSync(sarifPath);
  });

  it('checks only the changed files: an unchanged good file is never reported, a clean change passes', () => {
    git('rm', '-q', 'infra/secrets/leak.yaml');
    return encrypted('secrets/new.yaml', 'api:\n  token: now-encrypted-token\n').then((text) => {
      write('infra/secrets/new.yaml', text);
      git('add', '-A');
      git('commit', '-q', '-m', 'encrypt it');
      const run = verifyRun({ 'working-directory': 'infra' }, { pull_request: { base: { sha: baseSha } } });
      expect(run.log.filter((line) => line.startsWith('::error'))).toEqual([]);
      expect(run.status).toBe(0);
      expect(run.outputs.get('problems')).toBe('0');
      expect(run.summary).toMatch(/0 errors, 0 warnings in 1 file/);
    });
  });

  it('passes without checking anything when no file under the policy changed', () => {
    const head = git('rev-parse', 'HEAD');
    write('README.md', 'docs only\n');
    git('commit', '-q', '-am', 'docs');
    const run = verifyRun({ 'working-directory': 'infra' }, { pull_request: { base: { sha: head } } });
    expect(run.status).toBe(0);
    expect(run.summary).toContain('no secrets files changed');
  });

  it('without a base (not a pull request) checks every file', () => {
    write('infra/secrets/plain.yaml', 'x: plain-value-poiuy\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'another leak');
    const run = verifyRun({ 'working-directory': 'infra' }, {});
    expect(run.status).toBe(1);
    expect(run.log.some((line) => line.startsWith('::error') && line.includes('file=infra/secrets/plain.yaml'))).toBe(true);
  });

  it('with an identity also runs the keyed checks: a tampered value is an integrity error, and the key is masked', async () => {
    const text = await encrypted('secrets/tampered.yaml', 'api:\n  token: original-token-lkjhg\n');
    // flip one character of the value's ciphertext
    const tampered = text.replace(/(token: ENC\[AES256_GCM,data:)(.)/, (_match, head: string, char: string) => `${head}${char === 'A' ? 'B' : 'A'}`);
    expect(tampered).not.toBe(text);
    const head = git('rev-parse', 'HEAD');
    write('infra/secrets/tampered.yaml', tampered);
    git('add', '-A');
    git('commit', '-q', '-m', 'tamper');
    const run = verifyRun({ 'working-directory': 'infra', identity: alice.identity }, { pull_request: { base: { sha: head } } });
    const firstPlain = run.log.findIndex((line) => !line.startsWith('::add-mask::'));
    expect(run.log.slice(0, firstPlain)).toContain(`::add-mask::${alice.identity}`);
    expect(run.status).toBe(1);
    expect(run.log.some((line) => line.startsWith('::error title=coffer%3A integrity') && line.includes('file=infra/secrets/tampered.yaml'))).toBe(true);
    expect(run.summary).not.toMatch(/keyless/);
  });
});

