// coffer's per-user cache directory and the test every cache file read from it must pass. Caches
// are only ever a shortcut: a file that fails the test is ignored, never trusted.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, type Stats, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/** $XDG_CACHE_HOME/coffer, else ~/.cache/coffer; undefined without a usable home. */
export function userCacheDirectory(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'coffer');
  const home = env['HOME'] ?? env['USERPROFILE'];
  return home && isAbsolute(home) ? join(home, '.cache', 'coffer') : undefined;
}

/** Owned by this user and writable by nobody else (where the platform has owners). */
export function isOwnedAndPrivate(info: Stats): boolean {
  const uid = process.getuid?.();
  return uid === undefined || (info.uid === uid && (info.mode & 0o022) === 0);
}

/**
 * A cache file's JSON, or undefined when it is missing, damaged, or fails isOwnedAndPrivate (whoever
 * can write a cache file decides what it answers). Checked on the open descriptor, not the path.
 */
export function readCacheFile(path: string): unknown {
  let fd: number | undefined;
  try {
    // non-blocking, so a FIFO put where a cache file belongs cannot stall the command; only a regular file is read
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const info = fstatSync(fd);
    if (!info.isFile() || !isOwnedAndPrivate(info)) return undefined;
    return JSON.parse(readFileSync(fd, 'utf8')) as unknown;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

let temps = 0;

/**
 * Writes a cache file whole or not at all: a new 0600 temp file beside it (exclusive create), then a
 * rename; the directory is created 0700. Best effort: false when anything failed, and no temp file
 * is left. No node:crypto (it costs a cached `coffer log` milliseconds to load): the temp name is
 * the process id and a counter, and the exclusive create refuses a name that is taken.
 */
export function writeCacheFile(path: string, text: string): boolean {
  const temp = `${path}.${process.pid}.${temps++}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
    renameSync(temp, path);
    return true;
  } catch {
    try {
      rmSync(temp, { force: true });
    } catch {
      // the directory itself is unusable: nothing was written
    }
    return false;
  }
}
