import { existsSync, statSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { choosePrivateBase, withPrivateTempDir, writePrivateFile } from '../../src/io/private-dir.js';
import { startProcess, useHarness } from './harness.js';

const harness = useHarness();

const shmUsable = process.platform === 'linux' && existsSync('/dev/shm');

describe('withPrivateTempDir', () => {
  it('gives a 0700 dir on tmpfs when there is one, with 0600 files, and removes it afterwards', async () => {
    let seen = '';
    const result = await withPrivateTempDir(
      async (dir) => {
        seen = dir;
        expect((await stat(dir)).mode & 0o777).toBe(0o700);
        await writePrivateFile(join(dir, 'plain.yaml'), 'password: hunter2\n');
        expect((await stat(join(dir, 'plain.yaml'))).mode & 0o777).toBe(0o600);
        await expect(writePrivateFile(join(dir, 'plain.yaml'), 'again')).rejects.toMatchObject({ code: 'EEXIST' });
        return 'done';
      },
      { prefix: 'coffer-test-' },
    );
    expect(result).toBe('done');
    expect(seen.startsWith(shmUsable ? '/dev/shm/coffer-test-' : tmpdir())).toBe(true);
    expect(existsSync(seen)).toBe(false);
  });

  it('removes the dir when fn throws, and rethrows the same error', async () => {
    let seen = '';
    const failure = new Error('boom');
    await expect(
      withPrivateTempDir(async (dir) => {
        seen = dir;
        await writeFile(join(dir, 'x'), 'y');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(existsSync(seen)).toBe(false);
  });

  it('falls back to $XDG_RUNTIME_DIR or the temp dir when /dev/shm is unusable', () => {
    const base = choosePrivateBase({ XDG_RUNTIME_DIR: tmpdir() });
    expect(base).toBe(shmUsable ? '/dev/shm' : tmpdir());
    if (!shmUsable) expect(choosePrivateBase({})).toBe(tmpdir());
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`removes the dir and dies by ${signal} when the process gets it`, async () => {
      const child = startProcess(process.execPath, [harness.script, 'private-dir']);
      const dir = await child.firstLine;
      expect(statSync(dir).isDirectory()).toBe(true);
      child.kill(signal);
      const finished = await child.finished;
      expect(finished.signal).toBe(signal);
      expect(existsSync(dir)).toBe(false);
    });
  }
});

describe('writePrivateFile', () => {
  it('writes the exact bytes', async () => {
    await withPrivateTempDir(async (dir) => {
      await writePrivateFile(join(dir, 'bin'), new Uint8Array([0, 255, 10]));
      expect([...(await readFile(join(dir, 'bin')))]).toEqual([0, 255, 10]);
    });
  });
});
