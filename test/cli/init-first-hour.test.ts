// `coffer init` sets up the first hour: the user's age key when they have none, coffer.yaml naming
// it, the git drivers and the pre-commit hook; each --no-* flag skips its part; questions on a TTY.
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { createTestRepo, type TestRepo } from '../git/repo.js';
import { runInProcess } from './sandbox.js';

describe('coffer init, first hour', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });
  const setup = async () => {
    const repo: TestRepo = await createTestRepo();
    cleanup.push(() => repo.dispose());
    const home = join(repo.dir, '.home');
    // HOME inside the repository's directory; no SOPS_AGE_* and no XDG_CONFIG_HOME: the default key file is under HOME
    const env = { PATH: process.env.PATH, HOME: home, USER: 'Alice' };
    const keyFile = join(home, '.config', 'sops', 'age', 'keys.txt');
    const hook = join(repo.dir, '.git', 'hooks', 'pre-commit');
    return { repo, env, keyFile, hook, run: (argv: string[]) => runInProcess(['init', ...argv], repo.dir, env) };
  };

  it('creates the key file 0600, names it in coffer.yaml, registers the drivers and installs the hook', async () => {
    const { repo, run, keyFile, hook } = await setup();
    const result = await run([]);
    expect(result.code, result.stderr).toBe(0);
    const key = await readFile(keyFile, 'utf8');
    const recipient = /# public key: (age1[0-9a-z]+)/.exec(key)?.[1];
    expect(recipient).toBeDefined();
    expect(key).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/m);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(repo.dir, '.home', '.config', 'sops', 'age'))).mode & 0o777).toBe(0o700);
    expect(result.stderr).toContain(`created your age key ${keyFile} (public key ${recipient})`);
    expect(result.stderr).not.toContain('AGE-SECRET-KEY');
    const config = await readFile(join(repo.dir, 'coffer.yaml'), 'utf8');
    expect(config).toContain(`  alice: { age: ${recipient} }`);
    expect(repo.git(['config', 'merge.coffer.driver']).trim()).toBe('coffer merge-driver %O %A %B %P');
    expect(await readFile(join(repo.dir, '.gitattributes'), 'utf8')).toBe('secrets/dev/** diff=coffer merge=coffer\n');
    expect(await readFile(hook, 'utf8')).toContain('exec coffer verify --staged');
    expect((await stat(hook)).mode & 0o111).not.toBe(0);
    // the new key decrypts what is encrypted for coffer.yaml's readers
    await mkdir(join(repo.dir, 'secrets', 'dev'), { recursive: true });
    await writeFile(join(repo.dir, 'secrets', 'dev', 'app.yaml'), 'token: s3cret\n');
    expect((await runInProcess(['encrypt', '-i', 'secrets/dev/app.yaml'], repo.dir, { PATH: process.env.PATH, HOME: join(repo.dir, '.home') })).code).toBe(0);
    const got = await runInProcess(['decrypt', '--extract', '["token"]', 'secrets/dev/app.yaml'], repo.dir, { PATH: process.env.PATH, HOME: join(repo.dir, '.home') });
    expect(got.stdout.trim()).toBe('s3cret');
  });

  it('reuses an existing key and never overwrites it', async () => {
    const { run, keyFile, repo } = await setup();
    const keygen = await runInProcess(['keygen', '-o', keyFile], repo.dir, { PATH: process.env.PATH, HOME: join(repo.dir, '.home') });
    const recipient = /age1[0-9a-z]+/.exec(keygen.stderr)?.[0];
    const before = await readFile(keyFile, 'utf8');
    const result = await run([]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('created your age key');
    expect(await readFile(keyFile, 'utf8')).toBe(before);
    expect(await readFile(join(repo.dir, 'coffer.yaml'), 'utf8')).toContain(`  alice: { age: ${recipient} }`);
  });

  it('--no-keygen creates no key and asks for a recipient instead', async () => {
    const { run, keyFile, repo } = await setup();
    const result = await run(['--no-keygen']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('no recipient for the starter coffer.yaml');
    expect(existsSync(keyFile)).toBe(false);
    expect(existsSync(join(repo.dir, 'coffer.yaml'))).toBe(false);
  });

  it('--no-keygen with --recipient writes coffer.yaml without a key file', async () => {
    const { run, keyFile, repo } = await setup();
    const other = /age1[0-9a-z]+/.exec((await runInProcess(['keygen', '-o', 'other.txt'], repo.dir, { PATH: process.env.PATH })).stderr)![0];
    const result = await run(['--no-keygen', '--recipient', `bob=${other}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(keyFile)).toBe(false);
    expect(await readFile(join(repo.dir, 'coffer.yaml'), 'utf8')).toContain(`  bob: { age: ${other} }`);
  });

  it('--no-hook installs no hook; --no-git-setup registers no driver', async () => {
    const first = await setup();
    expect((await first.run(['--no-hook'])).code).toBe(0);
    expect(existsSync(first.hook)).toBe(false);
    expect(first.repo.git(['config', 'merge.coffer.driver']).trim()).toBe('coffer merge-driver %O %A %B %P');

    const second = await setup();
    expect((await second.run(['--no-git-setup'])).code).toBe(0);
    expect(existsSync(second.hook)).toBe(true);
    expect(existsSync(join(second.repo.dir, '.gitattributes'))).toBe(false);
    expect(() => second.repo.git(['config', 'merge.coffer.driver'])).toThrow();
  });

  it('leaves a pre-commit hook it did not write alone, with a note', async () => {
    const { run, hook } = await setup();
    await mkdir(join(hook, '..'), { recursive: true });
    await writeFile(hook, '#!/bin/sh\nmake lint\n');
    const result = await run([]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/pre-commit already exists and was not written by coffer/);
    expect(await readFile(hook, 'utf8')).toBe('#!/bin/sh\nmake lint\n');
  });

  it('creates no key when coffer.yaml already exists', async () => {
    const { run, keyFile, repo } = await setup();
    await writeFile(join(repo.dir, 'coffer.yaml'), 'version: 1\n');
    const result = await run([]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('already exists');
    expect(existsSync(keyFile)).toBe(false);
  });

  const runOnTerminal = async (dir: string, env: Record<string, string | undefined>, answers: string) => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    let err = '';
    stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    stdin.end(answers);
    const code = await runCli(['init'], { stdin, stdout, stderr, env: { ...env, TERM: 'dumb' }, cwd: dir });
    return { code, stderr: err };
  };

  it('on a terminal asks for the name, the environment globs and the hook', async () => {
    const { repo, env, hook } = await setup();
    const result = await runOnTerminal(repo.dir, env, 'carol\nconfig/dev/**\nn\n');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('your name in coffer.yaml');
    expect(result.stderr).toContain('[Y/n]');
    const config = await readFile(join(repo.dir, 'coffer.yaml'), 'utf8');
    expect(config).toMatch(/^ {2}carol: \{ age: age1/m);
    expect(config).toContain('files: ["config/dev/**"]');
    expect(existsSync(hook)).toBe(false);
  });

  it('takes the defaults on empty answers, and never asks under CI', async () => {
    const first = await setup();
    const result = await runOnTerminal(first.repo.dir, first.env, '\n\n\n');
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(join(first.repo.dir, 'coffer.yaml'), 'utf8')).toMatch(/^ {2}alice: \{ age: age1/m);
    expect(existsSync(first.hook)).toBe(true);

    const second = await setup();
    const ci = await runOnTerminal(second.repo.dir, { ...second.env, CI: 'true' }, 'carol\n');
    expect(ci.code, ci.stderr).toBe(0);
    expect(ci.stderr).not.toContain('your name in coffer.yaml');
    expect(await readFile(join(second.repo.dir, 'coffer.yaml'), 'utf8')).toMatch(/^ {2}alice: /m);
  });
});
