// Spawns the built binary (`npm test` builds it first): the bundle starts, parses and round-trips.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'coffer.cjs');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

describe('coffer binary', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const coffer = (args: string[], input = '') =>
    spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, input, encoding: 'utf8', timeout: 20_000 });

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'cli', 'coffer.js'))) throw new Error('dist/cli/coffer.js is missing: run `npm run build` (npm test does)');
    dir = await mkdtemp(join(tmpdir(), 'coffer-smoke-'));
    env = { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, '.config'), SOPS_AGE_KEY_FILE: join(dir, 'key.txt') };
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints help with every command and the exit codes', () => {
    const result = coffer(['--help']);
    expect(result.status).toBe(0);
    for (const command of ['keygen', 'encrypt', 'decrypt', 'get', 'set', 'unset', 'edit', 'exec', 'exec-file', 'updatekeys', 'rotate']) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    expect(result.stdout).toContain('Exit codes');
  });

  it('prints the package version, also through bin/coffer.js', () => {
    const result = coffer(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(version);
    const alias = spawnSync(process.execPath, [join(root, 'bin', 'coffer.js'), '--version'], { cwd: dir, env, encoding: 'utf8', timeout: 20_000 });
    expect(alias.stdout.trim()).toBe(version);
  });

  it('rejects an unknown command with exit 2', () => {
    expect(coffer(['frobnicate']).status).toBe(2);
  });

  it('round-trips a file: keygen, encrypt, set, get, decrypt', async () => {
    const keygen = coffer(['keygen', '-o', 'key.txt']);
    expect(keygen.status, keygen.stderr).toBe(0);
    const recipient = /age1[0-9a-z]+/.exec(keygen.stderr)?.[0] ?? '';
    await writeFile(join(dir, 'app.yaml'), 'db:\n  password: smoke-secret\n');
    expect(coffer(['encrypt', '--in-place', '--age', recipient, 'app.yaml']).status).toBe(0);
    expect(await readFile(join(dir, 'app.yaml'), 'utf8')).not.toContain('smoke-secret');
    expect(coffer(['set', 'app.yaml', 'db.user'], 'smoke-user\n').status).toBe(0);
    expect(coffer(['get', 'app.yaml', 'db.user']).stdout).toBe('smoke-user');
    const decrypted = coffer(['decrypt', 'app.yaml']);
    expect(decrypted.status, decrypted.stderr).toBe(0);
    expect(decrypted.stdout).toBe('db:\n  password: smoke-secret\n  user: smoke-user\n');
  });

  it('writes large output whole through a pipe, and ends quietly when the reader stops early (| head)', async () => {
    const big = Array.from({ length: 4000 }, (_, index) => `key_${index}: value-${index}-${'v'.repeat(40)}`).join('\n');
    await writeFile(join(dir, 'big.yaml'), `${big}\n`);
    // encrypt to stdout: ~700 KB, more than a pipe holds
    const keygen = coffer(['keygen', '-o', 'big-key.txt']);
    const recipient = /age1[0-9a-z]+/.exec(keygen.stderr)?.[0] ?? '';
    const whole = coffer(['encrypt', '--age', recipient, 'big.yaml']);
    expect(whole.status, whole.stderr).toBe(0);
    expect(whole.stdout.split('\n').filter((line) => line.startsWith('key_'))).toHaveLength(4000);
    // the reader takes one chunk and closes its end: coffer must neither crash nor complain
    const child = spawn(process.execPath, [bin, 'encrypt', '--age', recipient, 'big.yaml'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

