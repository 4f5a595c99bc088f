// bin/coffer.cjs keeps V8's compiled code of the bundle in the user cache directory: written once,
// private, used by later runs, and never a reason for a run to fail.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'coffer.cjs');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
// Node 22+ caches compiled code itself (module.enableCompileCache); bin/coffer.cjs does it on Node 20
const nodeCachesItself = typeof (Module as unknown as { enableCompileCache?: unknown }).enableCompileCache === 'function';

describe('code cache of the bundled CLI', () => {
  let dir: string;
  let cacheHome: string;
  const cacheDir = () => join(cacheHome, 'coffer', `code-${process.version}-${process.arch}`);
  const run = (args: string[], extra: Record<string, string> = {}) =>
    spawnSync(process.execPath, [bin, ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: cacheHome, ...extra }, encoding: 'utf8', timeout: 20_000 });
  const entries = () => readdirSync(cacheDir()).filter((name) => !name.endsWith('.tmp'));
  const modified = () => new Map(entries().map((name) => [name, statSync(join(cacheDir(), name)).mtimeMs]));

  beforeEach(() => {
    if (!existsSync(join(root, 'dist', 'cli', 'coffer.js'))) throw new Error('dist/cli/coffer.js is missing: run `npm run build` (npm test does)');
    dir = mkdtempSync(join(tmpdir(), 'coffer-code-cache-'));
    cacheHome = join(dir, 'cache');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is written on the first run into a private directory, and used unchanged by the next', () => {
    const first = run(['--version']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(version);
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700);
    expect(entries().length).toBeGreaterThan(0);
    if (!nodeCachesItself) {
      for (const name of entries()) {
        expect(name).toMatch(/^[\w-]+-\d+-[0-9a-f]{16}\.v8$/);
        expect(statSync(join(cacheDir(), name)).mode & 0o777).toBe(0o600);
      }
      const before = modified();
      const second = run(['--version']);
      expect(second.stdout.trim()).toBe(version);
      // accepted, so not written again
      expect(modified()).toEqual(before);
    }
  });

  it('a damaged entry is compiled afresh and replaced; the run does not notice', () => {
    expect(run(['--help']).status).toBe(0);
    if (!nodeCachesItself) {
      for (const name of entries()) writeFileSync(join(cacheDir(), name), 'not V8 code at all');
    }
    const again = run(['--help']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('Exit codes');
    expect(again.stderr).toBe('');
    if (!nodeCachesItself) {
      for (const name of entries()) expect(readFileSync(join(cacheDir(), name), 'utf8')).not.toBe('not V8 code at all');
    }
  });

  it('is neither read nor written where others can write, nor with COFFER_NO_CODE_CACHE', () => {
    mkdirSync(cacheDir(), { recursive: true });
    chmodSync(cacheDir(), 0o777);
    writeFileSync(join(cacheDir(), 'planted.v8'), 'code someone else wrote');
    const open = run(['--version']);
    expect(open.status, open.stderr).toBe(0);
    if (!nodeCachesItself) expect(entries()).toEqual(['planted.v8']);
    rmSync(cacheHome, { recursive: true, force: true });
    const off = run(['--version'], { COFFER_NO_CODE_CACHE: '1' });
    expect(off.stdout.trim()).toBe(version);
    expect(existsSync(cacheHome)).toBe(false);
  });

  it('a new build is compiled afresh even when every file has the old mtime and length (as npm packs them)', () => {
    // a copy of the package, every mtime set to npm's fixed one
    const pkg = join(dir, 'package');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    cpSync(join(root, 'bin', 'coffer.cjs'), join(pkg, 'bin', 'coffer.cjs'));
    cpSync(join(root, 'dist', 'cli'), join(pkg, 'dist', 'cli'), { recursive: true });
    const npmTime = new Date('1985-10-26T08:15:00Z');
    const settle = () => {
      for (const name of readdirSync(join(pkg, 'dist', 'cli'))) utimesSync(join(pkg, 'dist', 'cli', name), npmTime, npmTime);
    };
    settle();
    const runPackage = () => spawnSync(process.execPath, [join(pkg, 'bin', 'coffer.cjs'), '--version'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: cacheHome }, encoding: 'utf8', timeout: 20_000 });
    expect(runPackage().stdout.trim()).toBe(version);
    // "the next release": the same chunk, the same length, other content, and a new build id
    const chunk = readdirSync(join(pkg, 'dist', 'cli')).find((name) => name.endsWith('.js') && readFileSync(join(pkg, 'dist', 'cli', name), 'utf8').includes(`VERSION="${version}"`))!;
    const next = `${version.slice(0, -1)}${version.endsWith('9') ? '8' : '9'}`;
    const source = readFileSync(join(pkg, 'dist', 'cli', chunk), 'utf8');
    writeFileSync(join(pkg, 'dist', 'cli', chunk), source.replace(`VERSION="${version}"`, `VERSION="${next}"`));
    writeFileSync(join(pkg, 'dist', 'cli', 'build-id'), 'a-later-build\n');
    settle();
    expect(runPackage().stdout.trim()).toBe(next);
  });
});

