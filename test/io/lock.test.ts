import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { readLockHolder, withFileLock } from '../../src/io/lock.js';
import { runProcess, startProcess, useHarness } from './harness.js';

const harness = useHarness();
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that certainly belonged to a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

/**
 * Runs `count` writers at once, each adding its key under the lock; returns their results. They
 * all start, then wait for a `go` file, so they reach the lock together rather than staggered.
 */
async function runWriters(file: string, count: number) {
  const go = join(tmpdir(), `coffer-lock-go-${process.pid}-${Date.now()}`);
  const writers = Promise.all(
    Array.from({ length: count }, (_, i) =>
      runProcess(process.execPath, [harness.script, 'add-key', file, `writer${i}`, join(dir, 'inside'), go]),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 400));
  await writeFile(go, '');
  try {
    return await writers;
  } finally {
    await rm(go, { force: true });
  }
}

describe('withFileLock across processes', () => {
  it('serialises 20 concurrent read-modify-write cycles; readers never see a torn file', async () => {
    const file = join(dir, 'counter.json');
    await writeFile(file, '{}\n');
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        JSON.parse(await readFile(file, 'utf8')); // throws on a partial file
        reads++;
      }
    })();
    const results = await runWriters(file, 20);
    reading = false;
    await reader;

    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
    const keys = Object.keys(JSON.parse(await readFile(file, 'utf8')) as object);
    expect(keys.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `writer${i}`).sort());
    expect(reads).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual(['counter.json']); // no lock, guard or temp file left
  });

  it('recovers the lock of a holder killed with SIGKILL at once', async () => {
    const file = join(dir, 'secrets.json');
    const holder = startProcess(process.execPath, [harness.script, 'hold-lock', file]);
    expect(await holder.firstLine).toBe('locked');
    expect((await readLockHolder(file))?.pid).toBe(holder.pid);
    holder.kill('SIGKILL');
    expect((await holder.finished).signal).toBe('SIGKILL');
    expect(existsSync(`${file}.coffer-lock`)).toBe(true);

    const started = Date.now();
    const result = await withFileLock(file, async () => 'ran', { timeoutMs: 5_000 });
    expect(result).toBe('ran');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(existsSync(`${file}.coffer-lock`)).toBe(false);
  });

  it('releases the lock when the holder is stopped with SIGTERM', async () => {
    const file = join(dir, 'secrets.json');
    const holder = startProcess(process.execPath, [harness.script, 'hold-lock', file]);
    expect(await holder.firstLine).toBe('locked');
    expect(existsSync(`${file}.coffer-lock`)).toBe(true);
    holder.kill('SIGTERM');
    expect((await holder.finished).signal).toBe('SIGTERM');
    expect(existsSync(`${file}.coffer-lock`)).toBe(false);
  });

  it('lets exactly one of many waiters break a stale lock at a time', async () => {
    const file = join(dir, 'counter.json');
    await writeFile(file, '{}\n');
    const stale = { pid: await deadPid(), hostname: hostname(), createdAt: 'then', token: 'dead' };
    await writeFile(`${file}.coffer-lock`, JSON.stringify(stale));
    const results = await runWriters(file, 12);
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')) as object)).toHaveLength(12);
    expect(await readdir(dir)).toEqual(['counter.json']);
  });

  it('times out with LOCK_TIMEOUT naming the lock file while a live process holds it', async () => {
    const file = join(dir, 'secrets.json');
    const holder = startProcess(process.execPath, [harness.script, 'hold-lock', file]);
    try {
      expect(await holder.firstLine).toBe('locked');
      let waits = 0;
      const started = Date.now();
      const error = await withFileLock(file, async () => 'ran', { timeoutMs: 400, onWait: () => waits++ }).catch(
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      expect(error).toBeInstanceOf(CofferError);
      expect((error as CofferError).code).toBe('LOCK_TIMEOUT');
      expect((error as CofferError).message).toContain(`pid ${holder.pid}`);
      expect((error as CofferError).hints.join('\n')).toContain(`${file}.coffer-lock`);
      expect(waits).toBe(1);
    } finally {
      holder.kill('SIGKILL');
      await holder.finished;
    }
  });
});

describe('withFileLock in one process', () => {
  it('serialises overlapping callers and releases the lock when fn throws', async () => {
    const file = join(dir, 'secrets.json');
    const order: string[] = [];
    const first = withFileLock(file, async () => {
      order.push('first in');
      await new Promise((resolve) => setTimeout(resolve, 100));
      order.push('first out');
      throw new Error('boom');
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = withFileLock(file, async () => {
      order.push('second in');
    });
    await expect(first).rejects.toThrow('boom');
    await second;
    expect(order).toEqual(['first in', 'first out', 'second in']);
    expect(existsSync(`${file}.coffer-lock`)).toBe(false);
  });

  it('takes over at once a lock left by an earlier run that had our pid (containers)', async () => {
    const file = join(dir, 'secrets.json');
    const earlier = { pid: process.pid, hostname: hostname(), createdAt: 'then', token: 'earlier-run' };
    await writeFile(`${file}.coffer-lock`, JSON.stringify(earlier));
    expect(await withFileLock(file, async () => 'ran', { timeoutMs: 200 })).toBe('ran');
  });

  it('takes over a lock from another host only once its heartbeat is older than staleMs', async () => {
    const file = join(dir, 'secrets.json');
    const lockFile = `${file}.coffer-lock`;
    const foreign = { pid: process.pid, hostname: 'elsewhere.example', createdAt: 'then', token: 'foreign' };
    await writeFile(lockFile, JSON.stringify(foreign));
    const fresh = await withFileLock(file, async () => 'ran', { timeoutMs: 200, staleMs: 60_000 }).catch(
      (e: unknown) => e,
    );
    expect((fresh as CofferError).code).toBe('LOCK_TIMEOUT');
    expect((fresh as CofferError).message).toContain('elsewhere.example');

    const old = new Date(Date.now() - 120_000);
    await utimes(lockFile, old, old);
    expect(await withFileLock(file, async () => 'ran', { timeoutMs: 200, staleMs: 60_000 })).toBe('ran');
  });

  it('keeps a long-held lock fresh with a heartbeat so it is not taken over', async () => {
    const file = join(dir, 'secrets.json');
    const staleMs = 300;
    const holding = withFileLock(file, () => new Promise((resolve) => setTimeout(resolve, 900)), { staleMs });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const error = await withFileLock(file, async () => 'ran', { timeoutMs: 200, staleMs }).catch((e: unknown) => e);
    expect((error as CofferError).code).toBe('LOCK_TIMEOUT');
    await holding;
  });
});
