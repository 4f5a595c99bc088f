// The files of a working tree that the policy can govern: everything but git's own data and
// installed packages, as paths relative to the root with `/`, sorted.
import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Directories never searched for secrets files. */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(['.git', 'node_modules']);

/**
 * Every file under root, sorted. Read synchronously: a repository has few directories, and the
 * promise API costs a thread-pool round trip per directory and loads fs/promises (and streams)
 * into commands that otherwise never need them.
 */
export async function listRepositoryFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = (dir: string, prefix: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(entry.name)) walk(join(dir, entry.name), path);
      } else if (entry.isFile()) found.push(path);
    }
  };
  walk(root, '');
  return found.sort();
}
