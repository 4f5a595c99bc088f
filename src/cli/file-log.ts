// What `coffer log` reads before printing: for `coffer log FILE` without a key, first the stored
// answer for this commit, file and policy (.git/coffer/answers/); the walk only on a miss. A hit
// loads no yaml, policy parser, key or git object code: everything the walk needs is a dynamic
// import (git-history.ts). Anything unusual (a ref git's files cannot resolve, a path outside the
// repository, a policy that cannot be read) takes the walk, which reports it exactly as before.
import * as fs from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { type AnswerKey, answerKey, type FileAnswer, listAnswerHeads, readAnswer, recordHistory, writeAnswer } from '../audit/answer-cache.js';
import type { SecretHistory } from '../audit/history.js';
import { CofferError } from '../errors.js';
import { findRoot, type RefFs, repositoryPath, resolveRefNatively } from '../git/refs.js';
import { ageIdentitySourcesExist, sshIdentitySourcesExist } from '../keys/identity-sources.js';
import { findPolicyFile } from '../policy/locate.js';
import type { CliContext } from './context.js';
import type { HistoryCommandOptions } from './git-history.js';

export interface LogScope {
  /** The repository's working tree. */
  dir: string;
  history: Pick<SecretHistory, 'events' | 'renames'>;
  /** The coffer.yaml environment of a repository path. */
  environmentOf(path: string): string | undefined;
  /** A path on the command line as a repository path. */
  toRepositoryPath(file: string): string;
}

// A hit reads a dozen small files: synchronously, each costs microseconds instead of a trip
// through libuv's thread pool
const syncRefFs: RefFs = {
  promises: {
    stat: async (path) => fs.statSync(path),
    readFile: async (path) => fs.readFileSync(path, 'utf8'),
  },
};

export function realDir(path: string): string {
  try {
    return fs.realpathSync(path);
  } catch {
    return path;
  }
}

/** A command-line path as a path in the repository at `root`; USAGE outside it. */
export function repositoryPathOf(cwd: string, root: string, name: string): string {
  const absolute = resolve(cwd, name);
  const path = repositoryPath({ dir: root }, realDir(absolute)) ?? repositoryPath({ dir: root }, absolute);
  if (path === undefined) {
    throw new CofferError('USAGE', `${name} is outside the git repository ${root}`, { hints: ['name a file inside the repository'], data: { file: name } });
  }
  return path;
}

function readShallow(gitdir: string): string[] {
  try {
    return fs.readFileSync(`${gitdir}/shallow`, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export function shallowWarning(dir: string, shallow: readonly string[], command: string): string {
  return `coffer: warning: ${dir} is a shallow clone: history before ${shallow.map((oid) => oid.slice(0, 7)).join(', ')} is missing, so ${command} sees only part of it\n  hint: run \`git fetch --unshallow\` (or \`git fetch --deepen=N\`) for the full history\n`;
}

const identityPlaces = (context: CliContext) => ({ env: context.env, platform: process.platform, homedir: context.env['HOME'] ?? homedir() });

/**
 * Whether the keyless answer is the answer: `--no-decrypt`, or no age identity anywhere (then
 * only gpg or an SSH key could decrypt, which {@link answerNeedsKeys} rules out or not).
 */
export function keylessAnswerApplies(context: CliContext, options: HistoryCommandOptions): boolean {
  if (options.decrypt === false) return true;
  return !ageIdentitySourcesExist(identityPlaces(context), options.identity ?? []);
}

/**
 * Whether a keyless answer may differ from what the user's keys see: the file had a PGP recipient
 * (gpg may decrypt), or an SSH recipient and the user has an SSH key where SOPS looks.
 */
export function answerNeedsKeys(context: CliContext, options: HistoryCommandOptions, answer: { pgp: boolean; ssh: boolean }): boolean {
  if (options.decrypt === false) return false;
  return answer.pgp || (answer.ssh && sshIdentitySourcesExist(identityPlaces(context)));
}

/** The answer key of a repository path under the policy that applies in the working directory. */
export async function fileAnswerKey(context: CliContext, options: HistoryCommandOptions, file: string, shallow: readonly string[], onWarning?: (message: string) => void): Promise<AnswerKey> {
  const found = await findPolicyFile(context.cwd, { ...(options.config ? { configPath: options.config } : {}), env: context.env, ...(onWarning ? { onWarning } : {}) });
  const policy = found ? { kind: found.kind, path: found.path, bytes: fs.readFileSync(found.path) } : undefined;
  return answerKey({ file, shallow, ...(policy ? { policy } : {}) });
}

async function answeredFileLog(context: CliContext, options: HistoryCommandOptions, file: string): Promise<LogScope | undefined> {
  if (!keylessAnswerApplies(context, options)) return undefined;
  const cwd = realDir(context.cwd);
  let root: string;
  let path: string;
  try {
    root = await findRoot(syncRefFs, cwd);
    path = repositoryPathOf(cwd, root, file);
  } catch {
    return undefined;
  }
  const gitdir = `${root}/.git`;
  const head = await resolveRefNatively(syncRefFs, gitdir, options.ref ?? 'HEAD');
  if (head === undefined) return undefined;
  const shallow = readShallow(gitdir);
  const warnings: string[] = [];
  let key: AnswerKey;
  try {
    key = await fileAnswerKey(context, options, path, shallow, (message) => warnings.push(message));
  } catch {
    return undefined;
  }
  const answer = readAnswer(gitdir, key, head) ?? (await extendStoredAnswer(root, key, head));
  if (!answer || answerNeedsKeys(context, options, answer)) return undefined;
  // what the walk would have said on the way
  if (shallow.length > 0) context.stderr.write(shallowWarning(root, shallow, 'coffer log'));
  for (const message of warnings) context.stderr.write(`coffer: warning: ${message}\n`);
  return {
    dir: root,
    history: recordHistory(answer),
    environmentOf: (name) => (Object.hasOwn(answer.environments, name) ? answer.environments[name] : undefined),
    toRepositoryPath: (name) => repositoryPathOf(cwd, root, name),
  };
}

/**
 * An earlier head's answer extended by the commits since (single-parent, no new name), stored for
 * the next run. Needs the object reader and the stores' parsers for the new versions, but not the
 * policy: it is the earlier answer's (the key holds its bytes), and so are the environments.
 */
async function extendStoredAnswer(root: string, key: AnswerKey, head: string): Promise<FileAnswer | undefined> {
  const gitdir = `${root}/.git`;
  const heads = listAnswerHeads(gitdir, key);
  if (heads.length === 0) return undefined;
  const [{ openRepository }, { extendFileHistory }] = await Promise.all([import('../git/repository.js'), import('../audit/file-history.js')]);
  let earlier: FileAnswer | undefined;
  try {
    const repository = await openRepository({ fs, dir: root });
    const record = await extendFileHistory(repository, head, new Set(heads), (oid) => (earlier = readAnswer(gitdir, key, oid)));
    if (!record || !earlier) return undefined;
    writeAnswer(gitdir, record, key, earlier.environments);
    return { ...earlier, ...record };
  } catch {
    // a damaged object: the walk reports it
    return undefined;
  }
}

/** The events `coffer log [FILE]` chooses from: a stored answer when there is one, else the walk. */
export async function loadLogScope(context: CliContext, options: HistoryCommandOptions, file?: string): Promise<LogScope> {
  const answered = file === undefined ? undefined : await answeredFileLog(context, options, file);
  if (answered) return answered;
  const { loadHistoryScope } = await import('./git-history.js');
  const scope = await loadHistoryScope(context, options, 'coffer log', file);
  return { dir: scope.repository.dir, history: scope.history, environmentOf: scope.environmentOf, toRepositoryPath: scope.toRepositoryPath };
}
