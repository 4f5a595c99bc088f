// Serialises coffer writers of one file across processes: lock -> read -> compute -> write -> unlock.
// The lock is `<file>.coffer-lock`, created complete and exclusively by hard-linking a private temp
// file to that name. A lock whose holder died (same host, pid gone) or whose heartbeat stopped for
// `staleMs` is broken under a second exclusive guard (`<lock>.breaking`, a mkdir), so two waiters
// that both judge a lock stale cannot both remove it: one breaks, everyone races fairly to relink.

import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, realpath, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CofferError } from '../errors.js';
import { registerCleanup } from './cleanup.js';

export interface LockOptions {
  /** How long to wait for another holder before LOCK_TIMEOUT. Default 30 s. */
  timeoutMs?: number;
  /** A lock not refreshed for this long is taken over even if its pid looks alive. Default 30 s. */
  staleMs?: number;
  /** Called once, when we first have to wait (the CLI prints who holds the lock). */
  onWait?: (holder: LockHolder | undefined) => void;
}

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  hostname: string;
  createdAt: string;
  token: string;
}

const defaultStaleMs = 30_000;

/** A guard left by a waiter that died mid-break is itself broken after this long. */
const guardStaleMs = 2_000;

/** Tokens of the locks this process holds or is taking right now. */
const ourTokens = new Set<string>();

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function lockFailed(lockFile: string, error: unknown): CofferError {
  const code = errorCode(error) ?? 'unknown error';
  return new CofferError('WRITE_FAILED', `cannot create lock file ${lockFile}: ${code}`, {
    hints: ['check that the directory exists and is writable'],
    data: { lockFile, errno: code },
    cause: error,
  });
}

/** The lock file for `path`; symlinks are resolved so two names of one file share one lock. */
export async function lockFileFor(path: string): Promise<string> {
  let target: string;
  try {
    target = await realpath(path);
  } catch {
    target = join(await realpath(dirname(resolve(path))).catch(() => dirname(resolve(path))), basename(path));
  }
  return `${target}.coffer-lock`;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.hostname === 'string' && typeof value.token === 'string') {
      return { pid: value.pid, hostname: value.hostname, createdAt: String(value.createdAt), token: value.token };
    }
  } catch {
    // A torn or foreign file: judged by age alone.
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/** Creates the lock file complete (content written before it gets its name); false if held. */
async function createLock(lockFile: string, holder: LockHolder): Promise<boolean> {
  const content = JSON.stringify(holder);
  const temp = `${lockFile}.${holder.token}.tmp`;
  try {
    await writeFile(temp, content, { flag: 'wx', mode: 0o644 });
    try {
      await link(temp, lockFile);
      return true;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes(errorCode(error) ?? '')) throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    // No hard links on this filesystem: exclusive create (readers may briefly see it empty).
    const handle = await open(lockFile, 'wx', 0o644);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw lockFailed(lockFile, error);
  }
}

interface Observed {
  holder: LockHolder | undefined;
  /** Inode plus token: an inode number alone may be reused by the next lock right after a break. */
  identity: string;
  stale: boolean;
}

async function observeLock(lockFile: string, staleMs: number): Promise<Observed | undefined> {
  try {
    const handle = await open(lockFile, 'r');
    try {
      const info = await handle.stat();
      const holder = parseHolder(await handle.readFile('utf8'));
      // Our own pid with a token we never issued: a crashed earlier run that had the same pid
      // (common in containers, where every run may be pid 1).
      const deadHere =
        holder !== undefined &&
        holder.hostname === hostname() &&
        (holder.pid === process.pid ? !ourTokens.has(holder.token) : !isAlive(holder.pid));
      return {
        holder,
        identity: `${info.ino}:${holder?.token ?? `${info.mtimeMs}:${info.size}`}`,
        stale: deadHere || Date.now() - info.mtimeMs > staleMs,
      };
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw lockFailed(lockFile, error);
  }
}

/**
 * Removes the stale lock seen as `identity` unless it was replaced meanwhile. False when another
 * waiter is breaking it right now.
 */
async function breakStaleLock(lockFile: string, identity: string): Promise<boolean> {
  const guard = `${lockFile}.breaking`;
  try {
    await mkdir(guard, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw lockFailed(lockFile, error);
    const info = await stat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > guardStaleMs) await rmdir(guard).catch(() => undefined);
    return false;
  }
  try {
    // Under the guard only we may remove a lock we did not create, so if it is still the one we
    // judged stale, nobody has re-taken it in between.
    const current = await observeLock(lockFile, Number.POSITIVE_INFINITY);
    if (current?.identity === identity) await unlink(lockFile).catch(() => undefined);
    return true;
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

function isOurs(lockFile: string, token: string): boolean {
  try {
    return parseHolder(readFileSync(lockFile, 'utf8'))?.token === token;
  } catch {
    return false;
  }
}

function releaseLock(lockFile: string, token: string): void {
  // Never remove a lock that was taken over from us (we looked stale): it is someone else's now.
  if (isOurs(lockFile, token)) {
    try {
      unlinkSync(lockFile);
    } catch {
      // Already gone.
    }
  }
}

function timeoutError(path: string, lockFile: string, holder: LockHolder | undefined, timeoutMs: number) {
  const who = holder ? ` (pid ${holder.pid} on ${holder.hostname} since ${holder.createdAt})` : '';
  return new CofferError('LOCK_TIMEOUT', `${path}: another coffer process holds the lock${who}`, {
    hints: [
      `wait for it to finish and retry; waited ${Math.round(timeoutMs / 1000)} s`,
      `if no coffer process is running, remove ${lockFile}`,
    ],
    data: { file: path, lockFile, holder },
  });
}

/** Waits until `holder` owns `lockFile`, breaking stale locks; LOCK_TIMEOUT after timeoutMs. */
async function acquireLock(path: string, lockFile: string, holder: LockHolder, options: LockOptions): Promise<void> {
  // A live holder refreshes its lock, so waiting long is safe; 30 s covers a large file's write on a busy machine.
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? defaultStaleMs;
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  let waited = false;
  while (!(await createLock(lockFile, holder))) {
    const observed = await observeLock(lockFile, staleMs);
    if (observed === undefined) continue;
    if (observed.stale && (await breakStaleLock(lockFile, observed.identity))) continue;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw timeoutError(path, lockFile, observed.holder, timeoutMs);
    if (!waited && !observed.stale) {
      waited = true;
      options.onWait?.(observed.holder);
    }
    if (observed.stale) {
      await sleep(2); // another waiter is breaking it this very moment
    } else {
      await sleep(Math.min(remaining, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 1.5, 250);
    }
  }
}

/**
 * Runs `fn` while holding the coffer lock of `path`, waiting with backoff for another holder up to
 * `timeoutMs`. The lock is released when `fn` settles, and on exit or a fatal signal.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lockFile = await lockFileFor(path);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    createdAt: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
  };
  ourTokens.add(holder.token);
  try {
    await acquireLock(path, lockFile, holder, options);
    const unregister = registerCleanup(() => releaseLock(lockFile, holder.token));
    // Heartbeat: a long `edit` session must not look stale to the next writer.
    const heartbeat = setInterval(
      () => {
        if (!isOurs(lockFile, holder.token)) return;
        const now = new Date();
        utimes(lockFile, now, now).catch(() => undefined);
      },
      Math.max((options.staleMs ?? defaultStaleMs) / 3, 20),
    );
    heartbeat.unref();
    try {
      return await fn();
    } finally {
      clearInterval(heartbeat);
      unregister();
      releaseLock(lockFile, holder.token);
    }
  } finally {
    ourTokens.delete(holder.token);
  }
}

/** Reads who holds the lock of `path`, if anyone (for `coffer` diagnostics). */
export async function readLockHolder(path: string): Promise<LockHolder | undefined> {
  const lockFile = await lockFileFor(path);
  const text = await readFile(lockFile, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseHolder(text);
}
