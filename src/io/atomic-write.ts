// Crash-safe file replacement: a reader sees the old file or the new one, never a mix, and a
// failed write leaves the old file as it was.

import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, readdir, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CofferError } from '../errors.js';

export interface WriteOptions {
  /** Mode of a new file (an existing file keeps its own). 0644 unless given; key files pass 0600. */
  mode?: number;
  /** The content is plaintext: the file ends up 0600 even if it existed with a wider mode. */
  plaintext?: boolean;
}

/** Default mode of a new encrypted file: it holds only ciphertext and is meant to be committed. */
export const defaultFileMode = 0o644;

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function writeFailed(file: string, error: unknown): CofferError {
  if (error instanceof CofferError) return error;
  const code = errorCode(error) ?? 'unknown error';
  return new CofferError('WRITE_FAILED', `cannot write ${file}: ${code}`, {
    hints: ['check that the directory exists, is writable and the disk is not full'],
    data: { file, errno: code },
    cause: error,
  });
}

/** Follows a symlinked target so the link stays a link and the file it points to is replaced. */
async function resolveTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return resolve(path);
    throw error;
  }
}

async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Makes a rename durable; some platforms cannot fsync a directory, which is then skipped. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOTSUP'].includes(errorCode(error) ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Replaces `path` with `data` atomically: the bytes go to an unpredictable temp file created
 * exclusively (0600) in the same directory, are fsynced, and the temp file is renamed over the
 * target, then the directory is fsynced. An existing target keeps its mode (and owner, when we are
 * root); a new one gets `options.mode`. On failure the temp file is removed and the target untouched.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  let target = path;
  let temp: string | undefined;
  try {
    target = await resolveTarget(path);
    const existing = await statIfExists(target);
    if (existing?.isDirectory()) {
      throw new CofferError('WRITE_FAILED', `cannot write ${path}: it is a directory`, { data: { file: path } });
    }
    const mode = options.plaintext ? 0o600 : existing ? existing.mode & 0o7777 : (options.mode ?? defaultFileMode);
    const dir = dirname(target);
    temp = join(dir, `.${basename(target)}.${randomBytes(8).toString('hex')}.coffer-tmp`);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
    const handle = await open(temp, flags, 0o600);
    try {
      await handle.writeFile(data);
      // Explicit chmod: the creation mode was narrowed by the umask and by our 0600.
      await handle.chmod(mode);
      if (existing && process.getuid?.() === 0) await handle.chown(existing.uid, existing.gid);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    temp = undefined;
    await syncDirectory(dir);
  } catch (error) {
    if (temp !== undefined) await unlink(temp).catch(() => undefined);
    throw writeFailed(path, error);
  }
}

/**
 * Removes temp files an interrupted write of `path` left behind (a kill -9 between create and
 * rename). Call it only while holding the file's lock: then no other writer's temp file can exist.
 */
export async function removeStaleTempFiles(path: string): Promise<number> {
  const target = await resolveTarget(path);
  const prefix = `.${basename(target)}.`;
  let removed = 0;
  for (const name of await readdir(dirname(target)).catch(() => [] as string[])) {
    if (name.startsWith(prefix) && /^[0-9a-f]{16}\.coffer-tmp$/.test(name.slice(prefix.length))) {
      await unlink(join(dirname(target), name)).then(() => removed++, () => undefined);
    }
  }
  return removed;
}

/** Reads a file, or returns undefined when it does not exist. Other failures are FILE_UNREADABLE. */
export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    const code = errorCode(error) ?? 'unknown error';
    throw new CofferError('FILE_UNREADABLE', `cannot read ${path}: ${code}`, {
      hints: ['check the path and its permissions'],
      data: { file: path, errno: code },
      cause: error,
    });
  }
}

/** Reads a file that must exist: FILE_NOT_FOUND when it does not, FILE_UNREADABLE otherwise. */
export async function readExistingFile(path: string): Promise<Buffer> {
  const content = await readFileIfExists(path);
  if (content === undefined) {
    throw new CofferError('FILE_NOT_FOUND', `${path}: no such file`, {
      hints: ['check the path (it is relative to the current directory)'],
      data: { file: path },
    });
  }
  return content;
}
