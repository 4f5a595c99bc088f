// The only place plaintext may touch a filesystem: a 0700 directory, on tmpfs when the system has
// one (so it never reaches a disk), removed when the work is done or the process is interrupted.

import { accessSync, constants, rmSync, statSync } from 'node:fs';
import { chmod, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CofferError } from '../errors.js';
import { registerCleanup } from './cleanup.js';

export interface PrivateDirOptions {
  /** Start of the directory's name; a random suffix follows. Default `coffer-`. */
  prefix?: string;
  /** Environment consulted for XDG_RUNTIME_DIR. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

function isWritableDirectory(path: string | undefined): path is string {
  if (!path) return false;
  try {
    if (!statSync(path).isDirectory()) return false;
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where private dirs go: /dev/shm (Linux tmpfs), else $XDG_RUNTIME_DIR, else the temp dir. */
export function choosePrivateBase(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'linux' && isWritableDirectory('/dev/shm')) return '/dev/shm';
  if (isWritableDirectory(env.XDG_RUNTIME_DIR)) return env.XDG_RUNTIME_DIR;
  return tmpdir();
}

function removeFailed(dir: string, error: unknown): CofferError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
  return new CofferError('WRITE_FAILED', `cannot remove private temp dir ${dir}: ${code}`, {
    hints: [`remove ${dir} by hand: it may hold plaintext`],
    data: { dir, errno: code },
    cause: error,
  });
}

/**
 * Runs `fn` with a fresh 0700 directory and removes it recursively afterwards, also on exit and on
 * SIGINT/SIGTERM/SIGHUP (then the signal is re-raised, so the exit status stays 128+n).
 */
export async function withPrivateTempDir<T>(
  fn: (dir: string) => Promise<T>,
  options: PrivateDirOptions = {},
): Promise<T> {
  const base = choosePrivateBase(options.env);
  const dir = await mkdtemp(join(base, options.prefix ?? 'coffer-'));
  const unregister = registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const remove = async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    unregister(); // only once it is gone: if rm failed, the exit cleanup gets a last try
  };
  let result: T;
  try {
    // mkdtemp already uses 0700; say so explicitly rather than rely on it.
    await chmod(dir, 0o700);
    result = await fn(dir);
  } catch (error) {
    await remove().catch(() => undefined); // the first error is the one to report
    throw error;
  }
  await remove().catch((error: unknown) => {
    throw removeFailed(dir, error);
  });
  return result;
}

/** Creates a new file readable only by us (0600, exclusive: never follows or reuses a file). */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(data);
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
}
