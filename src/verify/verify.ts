// `coffer verify` as a library call: which files the policy says are secret (coffer.yaml's
// environments, or .sops.yaml's path_regex rules), each checked without keys and, given a key
// ring, with them; then values reused across key paths and environments. Reads only the files it
// checks, compiles each schema once, and keeps plaintext in memory only (reuse compares HMACs).
// Keyless results come from a cache (result-cache.ts) when the file, policy, schema and version
// are unchanged; parsing, the checks and schema compilation are imported only on a miss.
import { createHmac, randomBytes } from 'node:crypto';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { CofferError, isCofferError } from '../errors.js';
import type { KeyRing } from '../file/key-ring.js';
import { detectStore } from '../format/stores/detect.js';
import type { StoreName } from '../format/tree.js';
import { userCacheDirectory } from '../io/user-cache.js';
import {
  type CofferConfig,
  claimedTwiceError,
  configFromPlain,
  indexRecipientKeys,
  matchEnvironments,
  nameKey,
  plainConfig,
  planForEnvironment,
  type PolicyEnvironment,
} from '../policy/coffer-policy.js';
import { findPolicyFile } from '../policy/locate.js';
import type { findCreationRule, SopsConfig } from '../policy/sops-config.js';
import { loadStrengthScorer } from '../schema/strength.js';
import { judgeDates } from './dates.js';
import type { FileTarget } from './file-checks.js';
import { type Problem, problem, sortProblems, type VerifyReport } from './report.js';
import { cacheKey, type KeylessEntry, openVerifyCache, type VerifyCache, verifyCacheLocation } from './result-cache.js';
import { SchemaLoader } from './schema-loader.js';
import { type FileSource, indexSource, worktreeSource } from './sources.js';

export interface VerifyOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `--config FILE`. */
  configPath?: string;
  /** Only these files or directories (relative to cwd); default every file under the policy. */
  paths?: readonly string[];
  /** Read what is staged in the git index instead of the working tree. */
  staged?: boolean;
  /** Decrypt with these keys; undefined runs the keyless checks only. */
  keys?: KeyRing;
  now?: Date;
  /** Read and update the keyless result cache (default true; COFFER_NO_CACHE=1 in env also turns it off). Off, verify reads and writes no cache at all. */
  cache?: boolean;
}

/** Files above this size are reported, not parsed. */
const MAX_VERIFY_BYTES = 64 * 1024 * 1024;
/** Unclaimed files above this size are not probed for sops metadata. */
const PROBE_LIMIT = 1024 * 1024;
const PROBED_STORES = new Set(['yaml', 'json', 'dotenv', 'ini']);
const READ_AHEAD = 32;

type LoadedPolicy = { kind: 'coffer'; config: CofferConfig } | { kind: 'sops'; config: SopsConfig; findCreationRule: typeof findCreationRule };

/** The policy's parse: coffer.yaml's from the cache when its text, directory and coffer's version are the same (no yaml package then), else parsed. */
async function loadPolicy(kind: 'coffer' | 'sops', text: string, name: string, root: string, cache: VerifyCache | undefined): Promise<LoadedPolicy> {
  if (kind === 'sops') {
    const { findCreationRule, parseSopsConfig } = await import('../policy/sops-config.js');
    return { kind: 'sops', config: parseSopsConfig(text, name), findCreationRule };
  }
  const key = cacheKey('coffer.yaml', name, root, text);
  const cached = cache ? configFromPlain(cache.policy(key)) : undefined;
  if (cached) return { kind: 'coffer', config: cached };
  const { parseCofferConfig } = await import('../policy/coffer-config.js');
  const config = parseCofferConfig(text, name, root);
  cache?.putPolicy(key, plainConfig(config));
  return { kind: 'coffer', config };
}

/** Whether env turns the caches off (COFFER_NO_CACHE set to anything but "" or "0"). */
function cacheDisabledBy(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env['COFFER_NO_CACHE'];
  return value !== undefined && value !== '' && value !== '0';
}

/** What a cache miss needs: the store parsers, the keyless checks, the metadata validator and line lookup. */
async function loadKeylessChecks(): Promise<(target: FileTarget) => Promise<KeylessEntry>> {
  const [{ checkFileKeyless }, { validateSopsMetadata }, { addLines }] = await Promise.all([
    import('./file-checks.js'),
    import('../schema/sops-metadata-validator.js'),
    import('./locate.js'),
  ]);
  // SOPS_METADATA_SCHEMA, compiled at build time (scripts/generate-validators.mjs)
  const validateMetadata = (instance: unknown): string[] => {
    if (validateSopsMetadata(instance)) return [];
    return (validateSopsMetadata.errors ?? []).map((error) => `${error.instancePath.replace(/^\/sops/, 'sops').replaceAll('/', '.') || 'sops'} ${error.message ?? 'is not valid'}`);
  };
  return async (target) => {
    const result = checkFileKeyless({ ...target, ...(target.store === 'yaml' || target.store === 'json' ? { validateMetadata } : {}) });
    if (result.problems.length > 0) addLines(result.problems, Buffer.from(target.content).toString('utf8'), target.store);
    const decryptable = result.metadata !== undefined && !result.problems.some((item) => item.rule === 'metadata-invalid' || item.rule === 'malformed-value');
    return { problems: result.problems, decryptable, ...(result.dates ? { dates: result.dates } : {}) };
  };
}

/** Fills in lines for problems found after the keyless result (dates, keyed checks); loads the line finder only when one names a key path. */
async function addLinesLater(problems: Problem[], content: Uint8Array, store: StoreName): Promise<void> {
  if (!problems.some((item) => item.keyPath !== undefined && item.line === undefined)) return;
  const { addLines } = await import('./locate.js');
  addLines(problems, Buffer.from(content).toString('utf8'), store);
}

function policyProblem(file: string, error: CofferError): Problem {
  const line = typeof error.data['line'] === 'number' ? error.data['line'] : undefined;
  return problem('policy-invalid', file, error.message.replace(/^[^:]*:\d+: /, ''), line ? { line } : {});
}

async function readPolicyText(source: FileSource, path: string): Promise<string | undefined> {
  const name = relative(source.root, path).split(sep).join('/');
  const staged = await source.read(name);
  if (staged) return Buffer.from(staged).toString('utf8');
  return (await worktreeSource(dirname(path)).read(basename(path)).then((bytes) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined)));
}

/** The file filter for PATHS: exact files, or everything under a directory. */
function pathFilter(options: VerifyOptions, root: string): ((path: string) => boolean) | undefined {
  if (!options.paths || options.paths.length === 0) return undefined;
  const wanted = options.paths.map((path) => relative(root, resolve(options.cwd, path)).split(sep).join('/'));
  for (const path of wanted) {
    if (path.startsWith('..')) throw new CofferError('USAGE', `${path} is outside ${root}, the directory of the policy file`, { hints: ['pass files inside the repository'] });
  }
  return (path) => wanted.some((want) => want === '' || path === want || path.startsWith(`${want}/`));
}

/** The value under `key`, made and stored on first use: the run's per-path and per-environment lookups. */
function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function looksEncrypted(text: string): boolean {
  return text.includes('sops') && text.includes('ENC[');
}

/** Runs every check; CONFIG_NOT_FOUND when no policy applies, USAGE for bad paths or --staged outside git. */
export async function verifyRepository(options: VerifyOptions): Promise<VerifyReport> {
  const found = await findPolicyFile(options.cwd, { ...(options.configPath ? { configPath: options.configPath } : {}), env: options.env });
  if (!found) {
    throw new CofferError('CONFIG_NOT_FOUND', 'coffer verify needs a coffer.yaml or .sops.yaml to know which files are secret', {
      hints: ['`coffer init` writes a coffer.yaml; or pass --config FILE'],
    });
  }
  const source = options.staged ? await indexSource(dirname(found.path)) : worktreeSource(dirname(found.path));
  try {
    return await verifySource(options, found, source);
  } finally {
    source.close?.();
  }
}

async function verifySource(options: VerifyOptions, found: { kind: 'coffer' | 'sops'; path: string }, source: FileSource): Promise<VerifyReport> {
  const now = options.now ?? new Date();
  const root = source.root;
  const policyName = basename(found.path);
  const report: VerifyReport = { policy: policyName, source: source.kind, files: 0, decrypted: 0, keyless: options.keys === undefined, problems: [] };
  const problems = report.problems;

  const text = await readPolicyText(source, found.path);
  if (text === undefined) throw new CofferError('CONFIG_NOT_FOUND', `cannot read ${found.path}`);
  const useCache = options.cache !== false && !cacheDisabledBy(options.env);
  const location = useCache ? verifyCacheLocation(root, options.env) : undefined;
  const cache = location ? openVerifyCache(location, { partial: (options.paths ?? []).length > 0 }) : undefined;
  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(found.kind, text, policyName, root, cache);
  } catch (error) {
    if (!isCofferError(error)) throw error;
    problems.push(policyProblem(policyName, error));
    return report;
  }

  const wanted = pathFilter(options, root);
  const all = (await source.list()).filter((path) => path !== 'coffer.yaml' && path !== '.sops.yaml');
  const paths = wanted ? all.filter(wanted) : all;
  const schemas = new SchemaLoader(source, policyName, problems, { directory: useCache ? userCacheDirectory(options.env) : undefined, values: options.keys !== undefined, results: cache });
  // every key input of a file but its own: the policy's bytes here, its environment, plan and schema below
  const policyDigest = cacheKey('policy', found.kind, policyName, text);
  const expectedText = new Map<unknown, string>();
  const expectationOf = (environment: string | undefined, expected: FileTarget['expected']) =>
    getOrAdd(expectedText, expected ?? environment, () => JSON.stringify([environment ?? null, expected ?? null]));
  // the policy, environment, recipients and schema of a file in one digest, made once per environment and schema
  // (keyed by the schema's hex digest, or '', then a space: no two pairs give one key)
  const contexts = new Map<string, string>();
  const contextOf = (expectation: string, schemaDigest: string) =>
    getOrAdd(contexts, `${schemaDigest} ${expectation}`, () => cacheKey('context', policyDigest, expectation, schemaDigest));
  let checkKeyless: ReturnType<typeof loadKeylessChecks> | undefined;
  const recipientNames = policy.kind === 'coffer' ? indexRecipientKeys(policy.config) : new Map<string, string>();
  const describeKey = (key: string) => nameKey(recipientNames, key);
  // the HMAC key of the reuse check, made only when values are decrypted (a keyless run needs no randomness)
  let runKey: Buffer | undefined;
  const seen = new Map<string, { file: string; keyPath: string; environment: string | undefined }[]>();
  const decryptedText = new Map<string, { content: Uint8Array; store: StoreName }>();
  const scorer = () => loadStrengthScorer();

  // Reads run ahead of the checks, a few dozen at a time: the checks are synchronous and the
  // files small, so waiting on each read in turn would leave the process idle most of the time.
  const reads = new Map<string, Promise<{ size: number | undefined; content: Uint8Array | undefined }>>();
  const readAhead = (path: string) => getOrAdd(reads, path, () => source.load(path, MAX_VERIFY_BYTES));
  // each path's environments, looked up once (the read-ahead filter and the checks both need them)
  const lookups = new Map<string, ReturnType<typeof matchEnvironments>>();
  const environmentsOf = (config: CofferConfig, path: string) => getOrAdd(lookups, path, () => matchEnvironments(config, path));
  // each environment's recipients, resolved once for all its files
  const plans = new Map<PolicyEnvironment, ReturnType<typeof planForEnvironment>>();
  const planOf = (config: CofferConfig, environment: PolicyEnvironment) => getOrAdd(plans, environment, () => planForEnvironment(config, environment));
  const worthReading = (path: string) => {
    const store = detectStore(path);
    return PROBED_STORES.has(store) || (policy.kind === 'coffer' ? environmentsOf(policy.config, path).length > 0 : true);
  };
  const queue = paths.filter(worthReading);
  let next = 0;
  const pump = () => {
    while (next < queue.length && reads.size - checked < READ_AHEAD) readAhead(queue[next++]!);
  };
  let checked = 0;

  for (const path of paths) {
    pump();
    const store = detectStore(path);
    let claimed = false;
    let environment: PolicyEnvironment | undefined;
    let ruleGroups: FileTarget['expected'];
    let ruleName: string | undefined;
    if (policy.kind === 'coffer') {
      const matches = environmentsOf(policy.config, path);
      if (matches.length > 1) {
        problems.push(policyProblem(policyName, claimedTwiceError(policy.config, path, matches)));
        continue;
      }
      environment = matches[0]?.environment;
      claimed = environment !== undefined;
    } else {
      const rule = policy.findCreationRule(policy.config, root, resolve(root, path));
      claimed = rule?.pathRegex !== undefined;
      if (rule && claimed && rule.unsupportedSources.length === 0) {
        ruleGroups = { groups: rule.groups, ...(rule.shamirThreshold !== undefined ? { shamirThreshold: rule.shamirThreshold } : {}) };
        ruleName = `creation rule at ${policyName}:${rule.line}`;
      }
    }
    if (!reads.has(path) && !claimed && !PROBED_STORES.has(store)) continue;
    const { size, content } = await readAhead(path);
    checked++;
    if (size === undefined) continue;
    if (!claimed && (size > PROBE_LIMIT || !PROBED_STORES.has(store))) continue;
    if (size > MAX_VERIFY_BYTES) {
      problems.push(problem('unreadable', path, `is larger than ${MAX_VERIFY_BYTES / 1024 / 1024} MiB; secrets files are not that large`));
      report.files++;
      continue;
    }
    if (!content) continue;
    if (!claimed && !looksEncrypted(Buffer.from(content).toString('utf8'))) continue;
    report.files++;
    const fileProblems: Problem[] = [];
    if (!claimed && policy.kind === 'coffer') fileProblems.push(problem('unmanaged', path, `is encrypted but no environment of ${policyName} claims it`, { hint: `add it to the files: of an environment (\`coffer explain ${path}\`)` }));
    const target: FileTarget = {
      path,
      store,
      content,
      claimed,
      describeKey,
      ...(environment ? { environment: environment.name, expected: planOf(policy.config as CofferConfig, environment) } : {}),
      ...(ruleGroups ? { expected: ruleGroups, environment: ruleName } : {}),
    };
    const schemaSource = environment ? await schemas.sourceFor(environment, path) : undefined;
    const key = cache ? cacheKey('file', contextOf(expectationOf(target.environment, target.expected), schemaSource?.digest ?? ''), path, content) : undefined;
    let keyless = key ? cache!.file(key, path) : undefined;
    if (keyless) {
      if (schemaSource) await schemas.judge(schemaSource);
    } else {
      const schema = schemaSource ? await schemas.compile(schemaSource) : undefined;
      checkKeyless ??= loadKeylessChecks();
      keyless = await (await checkKeyless)(schema ? { ...target, schema } : target);
      if (key) cache!.putFile(key, keyless);
    }
    fileProblems.push(...keyless.problems);
    const later: Problem[] = keyless.dates ? judgeDates(path, keyless.dates, now) : [];
    if (options.keys && keyless.decryptable) {
      const schema = schemaSource ? await schemas.compile(schemaSource) : undefined;
      const { checkFileKeyed } = await import('./file-checks.js');
      const keyed = await checkFileKeyed(schema ? { ...target, schema } : target, options.keys, scorer);
      later.push(...keyed.problems);
      if (keyed.decrypted) report.decrypted++;
      for (const secret of keyed.secrets) {
        runKey ??= randomBytes(32);
        const digest = createHmac('sha256', runKey).update(secret.value).digest('base64');
        getOrAdd(seen, digest, () => []).push({ file: path, keyPath: secret.keyPath, environment: environment?.name });
      }
      if (keyed.secrets.length > 0) decryptedText.set(path, { content, store });
    }
    await addLinesLater(later, content, store);
    fileProblems.push(...later);
    problems.push(...fileProblems);
  }
  if (!wanted && policy.kind === 'coffer') problems.push(...schemas.unmatchedGlobs(policy.config, all));

  // each file's reuse problems get their lines in one pass over the file
  const reusedIn = new Map<string, Problem[]>();
  for (const places of seen.values()) {
    if (places.length < 2) continue;
    const [first, ...others] = places;
    for (const place of others) {
      const across = place.environment !== first!.environment;
      const found: Problem = problem('reused', place.file, `${place.keyPath} has the same value as ${first!.file === place.file ? '' : `${first!.file}: `}${first!.keyPath}${across ? ` (environments ${first!.environment ?? '-'} and ${place.environment ?? '-'})` : ''}`, {
        keyPath: place.keyPath,
        severity: across ? 'error' : 'warning',
        hint: `give each its own value: coffer set ${place.file} ${place.keyPath} --generate`,
      });
      getOrAdd(reusedIn, place.file, () => []).push(found);
      problems.push(found);
    }
  }
  for (const [path, found] of reusedIn) {
    const file = decryptedText.get(path);
    if (file) await addLinesLater(found, file.content, file.store);
  }
  cache?.save();
  report.problems = sortProblems(problems);
  return report;
}
