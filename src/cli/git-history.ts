// What the history commands (log, blame, status, audit, report) share: the repository around the
// working directory, coffer.yaml when there is one, and the walk over the history.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { type FileHistoryRecord, listAnswerHeads, readAnswer, recordHistory, writeAnswer } from '../audit/answer-cache.js';
import { extendFileHistory, readFileHistory, readFileHistoryRecord } from '../audit/file-history.js';
import { readSecretHistory, type SecretHistory } from '../audit/history.js';
import { readFileVersion } from '../audit/versions.js';
import type { KeyRing } from '../file/key-ring.js';
import { type CofferConfig, environmentFor, policyPath } from '../policy/coffer-config.js';
import { openHistoryCache } from '../git/history-cache.js';
import { openRepository, type Repository } from '../git/repository.js';
import type { CliContext } from './context.js';
import { answerNeedsKeys, fileAnswerKey, keylessAnswerApplies, realDir, repositoryPathOf, shallowWarning } from './file-log.js';
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

/** With `file`, only that file's history is walked (cached under .git/coffer/): `coffer log FILE`. */
export async function loadHistoryScope(context: CliContext, options: HistoryCommandOptions, command: string, file?: string): Promise<HistoryScope> {
  const cwd = realDir(context.cwd);
  const repository = await openRepository({ fs, dir: cwd });
  if (repository.shallow.length > 0) context.stderr.write(shallowWarning(repository.dir, repository.shallow, command));
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
  const toRepositoryPath = (name: string) => repositoryPathOf(cwd, repository.dir, name);
  const keyed = () => (options.decrypt === false ? Promise.resolve(undefined) : createKeyRing(context, { identity: options.identity ?? [], ...(options.config ? { config: options.config } : {}) }, policy));
  const historyOptions = {
    ...(options.ref ? { ref: options.ref } : {}),
    isSecretPath: (path: string) => environmentOf(path) !== undefined,
  };
  let keys: KeyRing | undefined;
  let history: SecretHistory;
  if (file === undefined) {
    keys = await keyed();
    history = await readSecretHistory(repository, { ...historyOptions, ...(keys ? { keys } : {}) });
  } else if (!keylessAnswerApplies(context, options)) {
    keys = await keyed();
    history = await readFileHistory(repository, toRepositoryPath(file), { ...historyOptions, ...(keys ? { keys } : {}), cache: openHistoryCache(repository.gitdir) });
  } else {
    const path = toRepositoryPath(file);
    const record = await answerFileHistory(context, options, repository, path, { ...historyOptions, environmentOf });
    if (answerNeedsKeys(context, options, record)) {
      // a PGP or SSH recipient the user's gpg or SSH key may decrypt: the events may differ from the keyless answer
      keys = await keyed();
      history = await readFileHistory(repository, path, { ...historyOptions, ...(keys ? { keys } : {}), cache: openHistoryCache(repository.gitdir) });
    } else {
      // versions are read from git only when asked (blame reads the file's version at the ref)
      const versionOf = async (oid: string, versionPath: string) => readFileVersion(versionPath, await repository.readBlob(oid));
      history = { repository, commits: [], changedPaths: new Map(), versionOf, ...recordHistory(record) };
    }
  }
  return {
    repository,
    ...(config ? { config } : {}),
    ...(keys ? { keys } : {}),
    history,
    environmentOf,
    toRepositoryPath,
  };
}

/**
 * The keyless record of one file at the ref: the stored answer, else an earlier head's answer
 * extended by the commits since, else the walk (over .git/coffer/history-cache.json); stored for
 * the next run. Caching is best effort: a policy that cannot be fingerprinted only skips it.
 */
async function answerFileHistory(
  context: CliContext,
  options: HistoryCommandOptions,
  repository: Repository,
  path: string,
  historyOptions: { ref?: string; isSecretPath(path: string): boolean; environmentOf(path: string): string | undefined },
): Promise<FileHistoryRecord> {
  const head = await repository.resolveRef(options.ref ?? 'HEAD');
  const key = await fileAnswerKey(context, options, path, repository.shallow).catch(() => undefined);
  const { gitdir } = repository;
  const stored = key === undefined ? undefined : readAnswer(gitdir, key, head);
  if (stored) return stored;
  let record: FileHistoryRecord | undefined;
  if (key !== undefined) {
    const heads = new Set(listAnswerHeads(gitdir, key));
    if (heads.size > 0) record = await extendFileHistory(repository, head, heads, (earlier) => readAnswer(gitdir, key, earlier));
  }
  record ??= await readFileHistoryRecord(repository, path, { ...historyOptions, cache: openHistoryCache(gitdir) });
  if (key !== undefined) {
    const environments: Record<string, string> = {};
    for (const tracked of record.tracked) {
      const environment = historyOptions.environmentOf(tracked);
      if (environment !== undefined) environments[tracked] = environment;
    }
    writeAnswer(gitdir, record, key, environments);
  }
  return record;
}
