// Where `coffer verify` reads files: the working tree, or exactly what is staged in the git index.
// The index and its blobs are read natively (git/index-file.ts, git/objects.ts); isomorphic-git,
// imported only then, reads what they refuse (a split or sparse index, unmerged paths, SHA-256,
// objects behind alternates). Paths are relative to `root`, with `/`.
import * as fs from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { CofferError } from '../errors.js';
import type { parseIndex } from '../git/index-file.js';
import { listRepositoryFiles, SKIPPED_DIRECTORIES } from '../policy/repository-files.js';

export interface FileSource {
  readonly kind: 'worktree' | 'index';
  /** The directory paths are relative to (the policy's directory). */
  readonly root: string;
  /** Every file under root, sorted. */
  list(): Promise<string[]>;
  /** Content, or undefined when the file is not there. */
  read(path: string): Promise<Uint8Array | undefined>;
  /** Size and, when it is at most `limit` bytes, content; both undefined when the file is not there. */
  load(path: string, limit: number): Promise<{ size: number | undefined; content: Uint8Array | undefined }>;
  /** Releases open files (the git object reader's packs). */
  close?(): void;
}

const NOTHING = { size: undefined, content: undefined };

/** One open, fstat, read and close: half the system calls and path lookups of a stat and then a readFileSync. */
function loadSync(file: string, limit: number): { size: number | undefined; content: Uint8Array | undefined } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return NOTHING;
  }
  try {
    const info = fs.fstatSync(fd);
    if (!info.isFile()) return NOTHING;
    if (info.size > limit) return { size: info.size, content: undefined };
    const content = Buffer.allocUnsafe(info.size);
    let length = 0;
    while (length < content.length) {
      const read = fs.readSync(fd, content, length, content.length - length, null);
      if (read === 0) break;
      length += read;
    }
    // a file that shrank while being read is taken as it was read
    return { size: length, content: length === content.length ? content : content.subarray(0, length) };
  } catch {
    return NOTHING;
  } finally {
    fs.closeSync(fd);
  }
}

export function worktreeSource(root: string): FileSource {
  return {
    kind: 'worktree',
    root,
    list: () => listRepositoryFiles(root),
    read: async (path) => {
      try {
        return fs.readFileSync(join(root, path));
      } catch {
        return undefined;
      }
    },
    // Synchronous on purpose: secrets files are small, and a sync read costs a fraction of the
    // thread-pool round trips (open, fstat, read, close) of fs/promises' readFile; 200 files took ~50 ms.
    // paths come from list() or coffer.yaml and are relative: a plain concatenation spares join's normalising of every one
    load: async (path, limit) => loadSync(`${root}/${path}`, limit),
  };
}

/** The working tree's top directory: the nearest parent of `start` holding `.git`. */
export function findRepositoryRoot(start: string): string | undefined {
  let dir = start;
  for (let depth = 0; depth < 100; depth++) {
    if (fs.existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

/** What is staged in the index of the repository around `root` (blobs, not the working tree). */
export async function indexSource(root: string): Promise<FileSource> {
  const top = findRepositoryRoot(root);
  if (!top) {
    throw new CofferError('USAGE', `--staged needs a git repository, and ${root} is not inside one`, { hints: ['run `git init`, or check the working tree without --staged'] });
  }
  return (await nativeIndexSource(top, root)) ?? (await isomorphicIndexSource(top, root));
}

/** The git directory of the working tree at `top`: `.git`, or where a `.git` file points; undefined for a `.git` file that points nowhere. */
export function gitDirectoryOf(top: string): string | undefined {
  const dotGit = join(top, '.git');
  if (!fs.statSync(dotGit).isFile()) return dotGit;
  const text = fs.readFileSync(dotGit, 'utf8');
  return text.startsWith('gitdir: ') ? resolve(top, text.slice(8).trim()) : undefined;
}

/** The git directory of the working tree at `top` and the directory holding its objects (they differ in linked worktrees). */
function gitDirectories(top: string): { gitdir: string; common: string } | undefined {
  const gitdir = gitDirectoryOf(top);
  if (gitdir === undefined) return undefined;
  let common = gitdir;
  try {
    common = resolve(gitdir, fs.readFileSync(join(gitdir, 'commondir'), 'utf8').trim());
  } catch {
    // not a linked worktree
  }
  return { gitdir, common };
}

/** A file's bytes; null when it does not exist, undefined when it cannot be read. */
function readIfThere(path: string): Buffer | null | undefined {
  try {
    return fs.readFileSync(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
}

/** The index read natively; undefined when the index or repository needs isomorphic-git. */
async function nativeIndexSource(top: string, root: string): Promise<FileSource | undefined> {
  // imported here: a working-tree run loads no git or zlib code
  const [{ parseIndex }, { createObjectReader }] = await Promise.all([import('../git/index-file.js'), import('../git/objects.js')]);
  let directories: ReturnType<typeof gitDirectories>;
  try {
    directories = gitDirectories(top);
  } catch {
    return undefined;
  }
  if (!directories) return undefined;
  const config = readIfThere(join(directories.common, 'config'));
  if (config === undefined || /^\s*objectformat\s*=\s*sha256/im.test(config?.toString('utf8') ?? '')) return undefined;
  // no index yet: nothing is staged
  const index = readIfThere(join(directories.gitdir, 'index'));
  const entries: ReturnType<typeof parseIndex> = index === undefined ? undefined : index === null ? [] : parseIndex(index);
  if (!entries) return undefined;
  const prefix = relative(top, root).split(sep).filter(Boolean).join('/');
  const staged = new Map<string, { oid: string; size: number }>();
  for (const entry of entries) {
    if ((entry.mode & 0o170000) === 0o160000) continue; // a submodule's commit, not a blob
    const inside = prefix === '' ? entry.path : entry.path.startsWith(`${prefix}/`) ? entry.path.slice(prefix.length + 1) : undefined;
    if (inside !== undefined) staged.set(inside, { oid: entry.oid, size: entry.size });
  }
  const objects = createObjectReader(directories.common);
  let fallback: Promise<FileSource> | undefined;
  const read = async (path: string): Promise<Uint8Array | undefined> => {
    const entry = staged.get(path);
    if (!entry) return undefined;
    let object: ReturnType<typeof objects.read>;
    try {
      object = objects.read(entry.oid);
    } catch {
      object = undefined;
    }
    if (object?.type === 'blob') return object.data;
    // not in a loose object or pack we can read (alternates, damage): isomorphic-git decides
    fallback ??= isomorphicIndexSource(top, root);
    return (await fallback).read(path);
  };
  return { ...stagedSource(root, staged, read), close: () => objects.close() };
}

/** A source over the index's entries (path -> size) and a reader of their blobs. */
function stagedSource(root: string, entries: ReadonlyMap<string, { size: number }>, read: (path: string) => Promise<Uint8Array | undefined>): FileSource {
  return {
    kind: 'index',
    root,
    list: async () => [...entries.keys()].filter((path) => !path.split('/').some((part) => SKIPPED_DIRECTORIES.has(part))).sort(),
    read,
    async load(path, limit) {
      const size = entries.get(path)?.size;
      return { size, content: size === undefined || size > limit ? undefined : await read(path) };
    },
  };
}

async function isomorphicIndexSource(top: string, root: string): Promise<FileSource> {
  const imported = await import('isomorphic-git');
  // bundled, the CommonJS module arrives as `default`
  const git = ((imported as unknown as { default?: typeof imported }).default ?? imported) as typeof imported;
  const prefix = relative(top, root).split(sep).filter(Boolean).join('/');
  const entries = new Map<string, { oid: string; size: number }>();
  await git.walk({
    fs,
    dir: top,
    trees: [git.STAGE()],
    map: async (filepath, [entry]) => {
      if (!entry || filepath === '.') return true;
      if ((await entry.type()) !== 'blob') return true;
      const inside = prefix === '' ? filepath : filepath.startsWith(`${prefix}/`) ? filepath.slice(prefix.length + 1) : undefined;
      if (inside !== undefined) entries.set(inside, { oid: await entry.oid(), size: (await entry.stat()).size });
      return true;
    },
  });
  const cache = {};
  const read = async (path: string) => {
    const entry = entries.get(path);
    if (!entry) return undefined;
    const { blob } = await git.readBlob({ fs, dir: top, oid: entry.oid, cache });
    return blob;
  };
  return stagedSource(root, entries, read);
}
