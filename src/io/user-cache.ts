// coffer's per-user cache directory and the test every cache file read from it must pass. Caches
// are only ever a shortcut: a file that fails the test is ignored, never trusted.
import type { Stats } from 'node:fs';
import { isAbsolute, join } from 'node:path';

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
