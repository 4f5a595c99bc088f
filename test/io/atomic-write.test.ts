import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, lstat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readExistingFile, readFileIfExists, removeStaleTempFiles, writeFileAtomic } from '../../src/io/atomic-write.js';
import { runProcess, useHarness } from './harness.js';
import { rejection } from '../helpers/errors.js';

const harness = useHarness();
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates a new file with mode 0644 by default, or the mode asked for', async () => {
    await writeFileAtomic(join(dir, 'secrets.yaml'), 'a: 1\n');
    await writeFileAtomic(join(dir, 'keys.txt'), new Uint8Array([1, 2, 3]), { mode: 0o600 });
    expect(await readFile(join(dir, 'secrets.yaml'), 'utf8')).toBe('a: 1\n');
    expect([...(await readFile(join(dir, 'keys.txt')))]).toEqual([1, 2, 3]);
    expect((await stat(join(dir, 'secrets.yaml'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(dir, 'keys.txt'))).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['keys.txt', 'secrets.yaml']);
  });

  it('keeps the mode of an existing file and ignores options.mode for it', async () => {
    const file = join(dir, 'secrets.yaml');
    await writeFile(file, 'old\n');
    await chmod(file, 0o640);
    await writeFileAtomic(file, 'new\n', { mode: 0o600 });
    expect(await readFile(file, 'utf8')).toBe('new\n');
    expect((await stat(file)).mode & 0o7777).toBe(0o640);
  });

  it('keeps the owner of an existing file when run as root', async () => {
    if (process.getuid?.() !== 0) return; // owner preservation is a root-only promise
    const file = join(dir, 'secrets.yaml');
    await writeFile(file, 'old\n');
    await chown(file, 4321, 4322);
    await writeFileAtomic(file, 'new\n');
    const info = await stat(file);
    expect([info.uid, info.gid]).toEqual([4321, 4322]);
  });

  it('replaces the file a symlink points to and keeps the symlink', async () => {
    const real = join(dir, 'real.yaml');
    const link = join(dir, 'link.yaml');
    await writeFile(real, 'old\n');
    await symlink(real, link);
    await writeFileAtomic(link, 'new\n');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(real, 'utf8')).toBe('new\n');
  });

  it('fails with WRITE_FAILED when the directory does not exist', async () => {
    const error = await rejection(writeFileAtomic(join(dir, 'missing', 'secrets.yaml'), 'password: hunter2\n'));
    expect(error.code).toBe('WRITE_FAILED');
    expect(error.message).toContain('ENOENT');
    expect(error.message).not.toContain('hunter2');
  });

  it('leaves a directory in the way untouched and removes its temp file', async () => {
    const target = join(dir, 'secrets.yaml');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'keep');
    const error = await rejection(writeFileAtomic(target, 'password: hunter2\n'));
    expect(error.code).toBe('WRITE_FAILED');
    expect(error.message).not.toContain('hunter2');
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('keep');
    expect(await readdir(dir)).toEqual(['secrets.yaml']);
  });

  it('leaves the target untouched and no temp file when the write fails half-way (EFBIG)', async () => {
    const target = join(dir, 'secrets.yaml');
    const source = join(dir, 'big.source');
    await writeFile(target, 'old content\n');
    await chmod(target, 0o640);
    await writeFile(source, 'x'.repeat(2 * 1024 * 1024));
    // `ulimit -f` caps file size for the child only; node ignores SIGXFSZ so write() returns EFBIG.
    const run = await runProcess('/bin/sh', ['-c', 'ulimit -f 64 && exec "$0" "$@"', process.execPath, harness.script, 'write', target, source]);
    expect(run.stdout.trim()).toBe('WRITE_FAILED');
    expect(await readFile(target, 'utf8')).toBe('old content\n');
    expect((await stat(target)).mode & 0o777).toBe(0o640);
    expect((await readdir(dir)).sort()).toEqual(['big.source', 'secrets.yaml']);
  });
});

describe('reading', () => {
  it('readFileIfExists returns the bytes or undefined for a missing file', async () => {
    await writeFile(join(dir, 'a'), 'content');
    expect((await readFileIfExists(join(dir, 'a')))?.toString()).toBe('content');
    expect(await readFileIfExists(join(dir, 'b'))).toBeUndefined();
  });

  it('reports FILE_UNREADABLE for a directory and FILE_NOT_FOUND for a required missing file', async () => {
    expect((await rejection(readFileIfExists(dir))).code).toBe('FILE_UNREADABLE');
    const missing = await rejection(readExistingFile(join(dir, 'nope.yaml')));
    expect(missing.code).toBe('FILE_NOT_FOUND');
    expect(missing.message).toContain('nope.yaml');
  });
});

describe('removeStaleTempFiles', () => {
  it('removes the temp files an interrupted write of this file left, and nothing else', async () => {
    const target = join(dir, 'secrets.yaml');
    await writeFile(target, 'current\n');
    const stale = ['.secrets.yaml.0123456789abcdef.coffer-tmp', '.secrets.yaml.fedcba9876543210.coffer-tmp'];
    const kept = ['.other.yaml.0123456789abcdef.coffer-tmp', '.secrets.yaml.notatempfile', 'secrets.yaml.coffer-lock'];
    for (const name of [...stale, ...kept]) await writeFile(join(dir, name), 'ciphertext only\n');
    expect(await removeStaleTempFiles(target)).toBe(2);
    const left = await readdir(dir);
    for (const name of stale) expect(left).not.toContain(name);
    for (const name of kept) expect(left).toContain(name);
    expect(await readFile(target, 'utf8')).toBe('current\n');
  });
});
