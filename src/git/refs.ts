// Where a repository is and what a ref names, from .git's files alone: no object is read and
// nothing heavy is loaded, so a command answering from a cache can tell which commit it is at.

/** The part of a file system these need (node:fs, isomorphic-git's FsClient, or a synchronous stand-in). */
export interface RefFs {
  promises: { stat(path: string): Promise<unknown>; readFile(path: string, encoding: 'utf8'): Promise<unknown> };
}

/** The nearest directory at or above `dir` that holds `.git` (what isomorphic-git's findRoot does). */
export async function findRoot(fs: RefFs, dir: string): Promise<string> {
  let current = dir.replace(/\/+$/, '') || '/';
  for (;;) {
    try {
      await fs.promises.stat(`${current === '/' ? '' : current}/.git`);
      return current;
    } catch {
      const parent = current.slice(0, current.lastIndexOf('/')) || '/';
      if (parent === current) throw new Error(`no .git above ${dir}`);
      current = parent;
    }
  }
}

/** HEAD, a branch, tag or full ref from loose refs and packed-refs; undefined when the native reading cannot tell. */
export async function resolveRefNatively(fs: RefFs, gitdir: string, ref: string, depth = 0): Promise<string | undefined> {
  if (/^[0-9a-f]{40}$/.test(ref)) return ref;
  if (depth > 5 || ref.includes('..')) return undefined;
  const read = (path: string) => fs.promises.readFile(`${gitdir}/${path}`, 'utf8').then(String, () => undefined);
  const candidates = ref === 'HEAD' ? ['HEAD'] : ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/remotes/${ref}`, ref];
  let packed: Map<string, string> | undefined;
  for (const candidate of candidates) {
    const text = (await read(candidate))?.trim();
    if (text?.startsWith('ref: ')) return resolveRefNatively(fs, gitdir, text.slice(5).trim(), depth + 1);
    if (text && /^[0-9a-f]{40}$/.test(text)) return text;
    packed ??= new Map(
      ((await read('packed-refs')) ?? '')
        .split('\n')
        .filter((line) => /^[0-9a-f]{40} /.test(line))
        .map((line) => [line.slice(41), line.slice(0, 40)]),
    );
    const oid = packed.get(candidate);
    // an annotated tag's packed line names the tag object; isomorphic-git peels it
    if (oid && !candidate.startsWith('refs/tags/')) return oid;
  }
  return undefined;
}

/** The path of `absolute` relative to the repository root, with `/`; undefined outside it. */
export function repositoryPath(repository: { dir: string }, absolute: string): string | undefined {
  const root = repository.dir.endsWith('/') ? repository.dir : `${repository.dir}/`;
  if (!absolute.startsWith(root)) return undefined;
  return absolute.slice(root.length);
}
