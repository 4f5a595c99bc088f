// Where `coffer verify` reads files: the working tree, or exactly what is staged in the git index
// (isomorphic-git, imported only for --staged). Paths are relative to `root`, with `/`.
import * as fs from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { CofferError } from '../errors.js';
import { listRepositoryFiles, SKIPPED_DIRECTORIES } from '../policy/repository-files.js';

export interface FileSource {
  readonly kind: 'worktree' | 'index';
  /** The directory paths are relative to (the policy's directory). */
  readonly root: string;
  /** Every file under root, sorted. */
  list(): Promise<string[]>;
  /** Size in bytes, or undefined when the file is not there. */
  size(path: string): Promise<number | undefined>;
  /** Content, or undefined when the file is not there. */
  read(path: string): Promise<Uint8Array | undefined>;
}


export function worktreeSource(root: string): FileSource {
  return {
    kind: 'worktree',
    root,
    list: () => listRepositoryFiles(root),
    // Synchronous on purpose: secrets files are small, and a sync read costs a fraction of the
    // thread-pool round trips (open, fstat, read, close) of fs/promises' readFile; 200 files took ~50 ms.
    size: async (path) => {
      const info = fs.statSync(join(root, path), { throwIfNoEntry: false });
      return info?.isFile() ? info.size : undefined;
    },
    read: async (path) => {
      try {
        return fs.readFileSync(join(root, path));
      } catch {
        return undefined;
      }
    },
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
  return {
    kind: 'index',
    root,
    list: async () => [...entries.keys()].filter((path) => !path.split('/').some((part) => SKIPPED_DIRECTORIES.has(part))).sort(),
    size: async (path) => entries.get(path)?.size,
    async read(path) {
      const entry = entries.get(path);
      if (!entry) return undefined;
      const { blob } = await git.readBlob({ fs, dir: top, oid: entry.oid, cache });
      return blob;
    },
  };
}
