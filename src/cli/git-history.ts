// What the history commands (log, blame, status, audit, report) share: the repository around the
// working directory, coffer.yaml when there is one, and the walk over the history.
import * as fs from 'node:fs';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readFileHistory } from '../audit/file-history.js';
import { type KeyEvent, readSecretHistory, type SecretHistory } from '../audit/history.js';
import { CofferError } from '../errors.js';
import type { KeyRing } from '../file/key-ring.js';
import { type CofferConfig, environmentFor, policyPath } from '../policy/coffer-config.js';
import { openHistoryCache } from '../git/history-cache.js';
import { openRepository, type Repository, repositoryPath } from '../git/repository.js';
import type { CliContext } from './context.js';
import { createKeyRing, loadCommandPolicy } from './key-setup.js';

export interface HistoryCommandOptions {
  identity?: string[];
  config?: string;
  ref?: string;
  /** `--no-decrypt`: compare ENC strings only, even with a key. */
  decrypt?: boolean;
}

export interface HistoryScope {
  repository: Repository;
  config?: CofferConfig;
  keys?: KeyRing;
  history: SecretHistory;
  /** The environment of a repository path, from coffer.yaml. */
  environmentOf(path: string): string | undefined;
  /** A path on the command line as a repository path. */
  toRepositoryPath(file: string): string;
}

function realDir(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** With `file`, only that file's history is walked (and cached under .git/coffer/): `coffer log FILE`. */
export async function loadHistoryScope(context: CliContext, options: HistoryCommandOptions, command: string, file?: string): Promise<HistoryScope> {
  const cwd = realDir(context.cwd);
  const repository = await openRepository({ fs, dir: cwd });
  if (repository.shallow.length > 0) {
    context.stderr.write(
      `coffer: warning: ${repository.dir} is a shallow clone: history before ${repository.shallow.map((oid) => oid.slice(0, 7)).join(', ')} is missing, so ${command} sees only part of it\n  hint: run \`git fetch --unshallow\` (or \`git fetch --deepen=N\`) for the full history\n`,
    );
  }
  const policy = await loadCommandPolicy(context, options);
  const config = policy?.kind === 'coffer' ? policy.config : undefined;
  const environmentOf = (path: string): string | undefined => {
    if (!config) return undefined;
    const relative = policyPath(config, join(repository.dir, path));
    if (relative === undefined) return undefined;
    try {
      return environmentFor(config, relative)?.environment.name;
    } catch {
      return undefined;
    }
  };
  const keys = options.decrypt === false ? undefined : await createKeyRing(context, { identity: options.identity ?? [], ...(options.config ? { config: options.config } : {}) }, policy);
  const historyOptions = {
    ...(options.ref ? { ref: options.ref } : {}),
    ...(keys ? { keys } : {}),
    isSecretPath: (path: string) => environmentOf(path) !== undefined,
  };
  const toRepositoryPath = (name: string) => {
    const absolute = resolve(cwd, name);
    const path = repositoryPath(repository, realDir(absolute)) ?? repositoryPath(repository, absolute);
    if (path === undefined) {
      throw new CofferError('USAGE', `${name} is outside the git repository ${repository.dir}`, { hints: ['name a file inside the repository'], data: { file: name } });
    }
    return path;
  };
  const history =
    file === undefined
      ? await readSecretHistory(repository, historyOptions)
      : await readFileHistory(repository, toRepositoryPath(file), { ...historyOptions, cache: openHistoryCache(repository.gitdir) });
  return {
    repository,
    ...(config ? { config } : {}),
    ...(keys ? { keys } : {}),
    history,
    environmentOf,
    toRepositoryPath,
  };
}

/** An event as one line of the log table. */
export function eventRow(event: KeyEvent): string[] {
  const detail =
    event.event === 'recipients changed'
      ? [...(event.recipientsAdded ?? []).map((key) => `+${shortKey(key)}`), ...(event.recipientsRemoved ?? []).map((key) => `-${shortKey(key)}`)].join(' ')
      : (event.problem ?? (event.renamedFrom ? `renamed from ${event.renamedFrom}` : ''));
  return [event.date.slice(0, 10), event.commit.slice(0, 7), event.author, event.file, event.keyPath ?? '*', event.event, detail];
}

export function shortKey(key: string): string {
  return key.length > 24 ? `${key.slice(0, 20)}…` : key;
}
