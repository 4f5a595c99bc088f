// Reading a git repository, given { fs, dir } like isomorphic-git's own API: commits in
// parents-before-children order, tree diffs by object id (only subtrees whose oid changed are
// read), blobs and trees cached by oid so each object is read and parsed once. Objects come from
// the native reader (objects.ts) when the repository is on disk and it finds them, else from
// isomorphic-git (one shared cache, so pack indexes are parsed once).
import { promises as nodePromises } from 'node:fs';
import type * as Git from 'isomorphic-git';
import { CofferError } from '../errors.js';
import { createObjectReader, findTreeEntry, type GitObject, type ObjectReader, parseCommit, parseTree } from './objects.js';
import { findRoot, repositoryPath, resolveRefNatively } from './refs.js';

export { repositoryPath };

/** node:fs, or anything with the same promises API (isomorphic-git's FsClient). */
export type GitFs = Parameters<typeof Git.readBlob>[0]['fs'] & { promises: { readFile(path: string, encoding: 'utf8'): Promise<string>; stat(path: string): Promise<unknown> } };

export interface GitPerson {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Minutes, as isomorphic-git reports it (UTC+2 is -120). */
  timezoneOffset: number;
}

export interface GitCommit {
  oid: string;
  parents: string[];
  tree: string;
  author: GitPerson;
  committer: GitPerson;
  message: string;
  /** The armored signature (`gpgsig` header), if any. */
  signature?: string;
  /** The signed bytes (the commit without its signature). */
  payload: string;
}

export interface TreeChange {
  path: string;
  /** Blob oid before (absent: added). */
  before?: string;
  /** Blob oid after (absent: removed). */
  after?: string;
}

export interface Repository {
  fs: GitFs;
  dir: string;
  gitdir: string;
  /** Commits of a shallow clone whose parents are missing. */
  shallow: string[];
  resolveRef(ref: string): Promise<string>;
  readCommit(oid: string): Promise<GitCommit>;
  /** Every commit reachable from `ref`, parents before children (ties by committer date). */
  listCommits(ref?: string): Promise<GitCommit[]>;
  /** Blob changes between two trees; `accept` filters paths before any blob is read. */
  diffTrees(before: string | undefined, after: string | undefined): Promise<TreeChange[]>;
  readBlob(oid: string): Promise<Uint8Array>;
  /** The blob oid of a path in a commit's tree, or undefined. */
  findBlob(commit: string, path: string): Promise<string | undefined>;
}

const TREE_MODE = '040000';

// isomorphic-git (300 kB of bundle) loads only when the native paths cannot answer: start-up is
// a large part of a warm `coffer log FILE`
let isomorphicGit: Promise<typeof Git> | undefined;
const git = () => (isomorphicGit ??= import('isomorphic-git'));

function gitError(error: unknown, what: string, dir: string): CofferError {
  if (error instanceof CofferError) return error;
  const code = (error as { code?: string })?.code;
  if (code === 'CorruptObjectError') {
    return new CofferError('FILE_UNREADABLE', `${dir}: ${what}: a git object is corrupt (${(error as Error).message})`, {
      hints: ['run `git fsck` to find damaged objects; a fresh clone or `git fetch` may restore them'],
      cause: error,
    });
  }
  if (code === 'NotFoundError') {
    return new CofferError('FILE_UNREADABLE', `${dir}: ${what}: a git object is missing`, {
      hints: ['the repository may be a shallow or partial clone: run `git fetch --unshallow`', 'run `git fsck` to check the repository'],
      cause: error,
    });
  }
  return new CofferError('FILE_UNREADABLE', `${dir}: ${what}: the git repository could not be read (${code ?? 'corrupt object'})`, {
    hints: ['run `git fsck` to find damaged objects'],
    cause: error,
  });
}

/** The repository containing `dir`; USAGE when there is none. */
export async function openRepository({ fs, dir }: { fs: GitFs; dir: string }): Promise<Repository> {
  let root: string;
  try {
    root = await findRoot(fs, dir);
  } catch (error) {
    throw new CofferError('USAGE', `${dir} is not inside a git repository`, {
      hints: ['run the command inside a git working tree (`git init` creates one)'],
      data: { dir },
      cause: error,
    });
  }
  const gitdir = `${root}/.git`;
  const cache = {};
  const shallowText = await fs.promises.readFile(`${gitdir}/shallow`, 'utf8').catch(() => '');
  const shallow = String(shallowText).split('\n').filter(Boolean);
  const trees = new Map<string, Promise<Git.TreeEntry[]>>();
  const commits = new Map<string, Promise<GitCommit>>();
  const base = { fs, dir: root, gitdir, cache };
  // the native reader needs the real file system; an injected fs goes through isomorphic-git alone
  let reader: ObjectReader | undefined;
  try {
    reader = (fs.promises as unknown) === nodePromises ? createObjectReader(gitdir) : undefined;
  } catch {
    reader = undefined;
  }
  const readNative = (oid: string, type: GitObject['type']): Buffer | undefined => {
    let object = reader?.read(oid);
    // an annotated tag where a commit is wanted: the commit it tags
    for (let depth = 0; object?.type === 'tag' && type !== 'tag' && depth < 5; depth++) object = reader?.read(/^object ([0-9a-f]{40})/.exec(object.data.toString('latin1'))?.[1] ?? '');
    if (!object) return undefined;
    if (object.type !== type) throw Object.assign(new Error(`${oid} is a ${object.type}, not a ${type}`), { code: 'ObjectTypeError' });
    return object.data;
  };

  const readTree = (oid: string) => {
    let tree = trees.get(oid);
    if (!tree) {
      tree = (async () => {
        const data = readNative(oid, 'tree');
        return data ? (parseTree(data) as Git.TreeEntry[]) : (await (await git()).readTree({ ...base, oid })).tree;
      })().then(
        (result) => result,
        (error: unknown) => {
          throw gitError(error, `tree ${oid.slice(0, 7)}`, root);
        },
      );
      trees.set(oid, tree);
    }
    return tree;
  };

  const readCommit = (oid: string) => {
    let commit = commits.get(oid);
    if (!commit) {
      commit = (async () => {
        const data = readNative(oid, 'commit');
        if (!data) return (await git()).readCommit({ ...base, oid });
        const { gpgsig, payload, parents: parent, ...rest } = parseCommit(data);
        return { oid, payload, commit: { ...rest, parent, ...(gpgsig ? { gpgsig } : {}) } };
      })().then(
        ({ commit: object, payload }) => ({
          oid,
          parents: object.parent,
          tree: object.tree,
          author: object.author,
          committer: object.committer,
          message: object.message,
          payload,
          ...(object.gpgsig ? { signature: object.gpgsig } : {}),
        }),
        (error: unknown) => {
          throw gitError(error, `commit ${oid.slice(0, 7)}`, root);
        },
      );
      commits.set(oid, commit);
    }
    return commit;
  };

  const diffTrees = async (before: string | undefined, after: string | undefined, prefix = ''): Promise<TreeChange[]> => {
    if (before === after) return [];
    const [left, right] = await Promise.all([before ? readTree(before) : [], after ? readTree(after) : []]);
    const leftByName = new Map(left.map((entry) => [entry.path, entry]));
    const rightByName = new Map(right.map((entry) => [entry.path, entry]));
    const changes: TreeChange[] = [];
    for (const name of new Set([...leftByName.keys(), ...rightByName.keys()])) {
      const a = leftByName.get(name);
      const b = rightByName.get(name);
      if (a?.oid === b?.oid && a?.mode === b?.mode) continue;
      const path = `${prefix}${name}`;
      const aTree = a?.mode === TREE_MODE ? a.oid : undefined;
      const bTree = b?.mode === TREE_MODE ? b.oid : undefined;
      if (aTree || bTree) changes.push(...(await diffTrees(aTree, bTree, `${path}/`)));
      const aBlob = a && a.mode !== TREE_MODE && a.type === 'blob' ? a.oid : undefined;
      const bBlob = b && b.mode !== TREE_MODE && b.type === 'blob' ? b.oid : undefined;
      if (aBlob !== bBlob) changes.push({ path, ...(aBlob ? { before: aBlob } : {}), ...(bBlob ? { after: bBlob } : {}) });
    }
    return changes;
  };

  const repository: Repository = {
    fs,
    dir: root,
    gitdir,
    shallow,
    async resolveRef(ref) {
      // Ancestry suffixes as git writes them: HEAD~3, main^, v1.4.0^2~1.
      const ancestry = /^(.+?)((?:[~^]\d*)+)$/.exec(ref);
      if (ancestry) {
        let oid = await repository.resolveRef(ancestry[1]!);
        for (const [, operator, count] of (ancestry[2] ?? '').matchAll(/([~^])(\d*)/g)) {
          const n = count === '' ? 1 : Number(count);
          for (let step = 0; step < (operator === '~' ? n : 1); step++) {
            const parents = (await readCommit(oid)).parents;
            const parent = operator === '~' ? parents[0] : n === 0 ? oid : parents[n - 1];
            if (parent === undefined) {
              throw new CofferError('USAGE', `${root}: "${ref.slice(0, 60)}" goes past the first commit`, {
                hints: ['count fewer generations back, or name the commit (`git log --oneline`)'],
                data: { ref },
              });
            }
            oid = parent;
          }
        }
        return oid;
      }
      try {
        return (await resolveRefNatively(fs, gitdir, ref)) ?? (await (await git()).resolveRef({ fs, dir: root, gitdir, ref }));
      } catch (error) {
        if (/^[0-9a-f]{40}$/.test(ref)) return ref;
        try {
          return await (await git()).expandOid({ ...base, oid: ref });
        } catch {
          throw new CofferError('USAGE', `${root}: no commit or branch "${ref.slice(0, 60)}"`, {
            hints: ['a repository without commits has no history yet: commit first', 'name a branch, tag or commit id'],
            data: { ref },
            cause: error,
          });
        }
      }
    },
    readCommit,
    async listCommits(ref = 'HEAD') {
      return walkCommits(await repository.resolveRef(ref), shallow, readCommit);
    },
    diffTrees: (before, after) => diffTrees(before, after),
    async readBlob(oid) {
      try {
        return readNative(oid, 'blob') ?? (await (await git()).readBlob({ ...base, oid })).blob;
      } catch (error) {
        throw gitError(error, `blob ${oid.slice(0, 7)}`, root);
      }
    },
    async findBlob(commit, path) {
      let tree = (await readCommit(commit)).tree;
      const parts = path.split('/');
      for (const [index, part] of parts.entries()) {
        let entry: { oid: string; type: string } | undefined;
        if (reader && !trees.has(tree)) {
          // one entry of the raw tree: a walk over thousands of commits parses nothing else
          try {
            const data = readNative(tree, 'tree');
            entry = data ? findTreeEntry(data, part) : (await readTree(tree)).find((item) => item.path === part);
          } catch (error) {
            throw gitError(error, `tree ${tree.slice(0, 7)}`, root);
          }
        } else entry = (await readTree(tree)).find((item) => item.path === part);
        if (!entry) return undefined;
        if (index === parts.length - 1) return entry.type === 'blob' ? entry.oid : undefined;
        if (entry.type !== 'tree') return undefined;
        tree = entry.oid;
      }
      return undefined;
    },
  };
  return repository;
}

/** Every commit reachable from `head` (stopping at shallow boundaries), parents before children, ties by committer date. */
export async function walkCommits(head: string, shallow: readonly string[], readCommit: (oid: string) => GitCommit | Promise<GitCommit>): Promise<GitCommit[]> {
  const boundary = new Set(shallow);
  // iterative depth-first post-order: every parent is emitted before its children
  const order: GitCommit[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: { oid: string; expanded: boolean }[] = [{ oid: head, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (state.get(top.oid) === 'done') {
      stack.pop();
      continue;
    }
    // a cached commit comes back as is: no promise per commit on a warm walk
    const read = readCommit(top.oid);
    const commit = read instanceof Promise ? await read : read;
    if (!top.expanded) {
      top.expanded = true;
      state.set(top.oid, 'open');
      if (!boundary.has(top.oid)) {
        // older parents first, so siblings come out roughly by date
        for (const parent of [...commit.parents].reverse()) if (!state.has(parent)) stack.push({ oid: parent, expanded: false });
      }
      continue;
    }
    stack.pop();
    state.set(top.oid, 'done');
    order.push(commit);
  }
  return sortByDate(order);
}

/** Parents before children, and otherwise oldest committer date first (Kahn's algorithm over a heap). */
function sortByDate(commits: GitCommit[]): GitCommit[] {
  const index = new Map<string, number>();
  for (const [position, commit] of commits.entries()) index.set(commit.oid, position);
  const waiting = new Int32Array(commits.length);
  const children: number[][] = commits.map(() => []);
  for (const [position, commit] of commits.entries()) {
    for (const parent of commit.parents) {
      const at = index.get(parent);
      if (at === undefined) continue;
      waiting[position]!++;
      children[at]!.push(position);
    }
  }
  // a binary heap of ready commits: oldest committer date, then author date, then the order they
  // became ready (what a linear scan for the first minimum picks), so n log n instead of n * ready
  const heap: { position: number; sequence: number }[] = [];
  let sequence = 0;
  const less = (a: { position: number; sequence: number }, b: { position: number; sequence: number }) => {
    const x = commits[a.position]!;
    const y = commits[b.position]!;
    return (x.committer.timestamp - y.committer.timestamp || x.author.timestamp - y.author.timestamp || a.sequence - b.sequence) < 0;
  };
  const push = (position: number) => {
    const item = { position, sequence: sequence++ };
    let at = heap.push(item) - 1;
    while (at > 0) {
      const up = (at - 1) >> 1;
      if (!less(item, heap[up]!)) break;
      heap[at] = heap[up]!;
      at = up;
    }
    heap[at] = item;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        if (left >= heap.length) break;
        const child = left + 1 < heap.length && less(heap[left + 1]!, heap[left]!) ? left + 1 : left;
        if (!less(heap[child]!, last)) break;
        heap[at] = heap[child]!;
        at = child;
      }
      heap[at] = last;
    }
    return top.position;
  };
  for (let position = 0; position < commits.length; position++) if (waiting[position] === 0) push(position);
  const sorted: GitCommit[] = [];
  while (heap.length > 0) {
    const next = pop();
    sorted.push(commits[next]!);
    for (const child of children[next]!) if (--waiting[child]! === 0) push(child);
  }
  return sorted;
}
