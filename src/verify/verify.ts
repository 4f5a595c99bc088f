// `coffer verify` as a library call: which files the policy says are secret (coffer.yaml's
// environments, or .sops.yaml's path_regex rules), each checked without keys and, given a key
// ring, with them; then values reused across key paths and environments. Reads only the files it
// checks, compiles each schema once, and keeps plaintext in memory only (reuse compares HMACs).
import { createHmac, randomBytes } from 'node:crypto';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { CofferError, isCofferError } from '../errors.js';
import type { KeyRing } from '../file/key-ring.js';
import { detectStore } from '../format/stores/index.js';
import { type CofferConfig, claimedTwiceError, indexRecipientKeys, lookupEnvironments, parseCofferConfig, planForEnvironment, type PolicyEnvironment, schemaBindingFor } from '../policy/coffer-config.js';
import { globToRegExp } from '../policy/glob.js';
import { nameKey } from '../policy/inventory.js';
import { findPolicyFile } from '../policy/policy-file.js';
import { findCreationRule, parseSopsConfig, type SopsConfig } from '../policy/sops-config.js';
import { validateSopsMetadata } from '../schema/sops-metadata-validator.js';
import { loadStrengthScorer } from '../schema/strength.js';
import { loadUserSchema, schemaCacheDirectory } from '../schema/schema-cache.js';
import type { UserSchema } from '../schema/user-schema.js';
import { checkFileKeyed, checkFileKeyless, type FileTarget } from './file-checks.js';
import { addLines } from './locate.js';
import { type Problem, problem, sortProblems, type VerifyReport } from './report.js';
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
}

/** Files above this size are reported, not parsed. */
export const MAX_VERIFY_BYTES = 64 * 1024 * 1024;
/** Unclaimed files above this size are not probed for sops metadata. */
const PROBE_LIMIT = 1024 * 1024;
const PROBED_STORES = new Set(['yaml', 'json', 'dotenv', 'ini']);
const READ_AHEAD = 32;

type LoadedPolicy = { kind: 'coffer'; config: CofferConfig } | { kind: 'sops'; config: SopsConfig };

/** SOPS_METADATA_SCHEMA, compiled at build time (scripts/generate-validators.mjs). */
function validateMetadata(instance: unknown): string[] {
  if (validateSopsMetadata(instance)) return [];
  return (validateSopsMetadata.errors ?? []).map((error) => `${error.instancePath.replace(/^\/sops/, 'sops').replaceAll('/', '.') || 'sops'} ${error.message ?? 'is not valid'}`);
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

function looksEncrypted(text: string): boolean {
  return text.includes('sops') && text.includes('ENC[');
}

/** Runs every check; CONFIG_NOT_FOUND when no policy applies, USAGE for bad paths or --staged outside git. */
export async function verifyRepository(options: VerifyOptions): Promise<VerifyReport> {
  const now = options.now ?? new Date();
  const found = await findPolicyFile(options.cwd, { ...(options.configPath ? { configPath: options.configPath } : {}), env: options.env });
  if (!found) {
    throw new CofferError('CONFIG_NOT_FOUND', 'coffer verify needs a coffer.yaml or .sops.yaml to know which files are secret', {
      hints: ['`coffer init` writes a coffer.yaml; or pass --config FILE'],
    });
  }
  const root = dirname(found.path);
  const policyName = basename(found.path);
  const source = options.staged ? await indexSource(root) : worktreeSource(root);
  const report: VerifyReport = { policy: policyName, source: source.kind, files: 0, decrypted: 0, keyless: options.keys === undefined, problems: [] };
  const problems = report.problems;

  const text = await readPolicyText(source, found.path);
  if (text === undefined) throw new CofferError('CONFIG_NOT_FOUND', `cannot read ${found.path}`);
  let policy: LoadedPolicy;
  try {
    policy = found.kind === 'coffer' ? { kind: 'coffer', config: parseCofferConfig(text, policyName, root) } : { kind: 'sops', config: parseSopsConfig(text, policyName) };
  } catch (error) {
    if (!isCofferError(error)) throw error;
    problems.push(policyProblem(policyName, error));
    return report;
  }

  const wanted = pathFilter(options, root);
  const all = (await source.list()).filter((path) => path !== 'coffer.yaml' && path !== '.sops.yaml');
  const paths = wanted ? all.filter(wanted) : all;
  const schemas = new SchemaLoader(source, policyName, problems, { directory: schemaCacheDirectory(options.env), values: options.keys !== undefined });
  const recipientNames = policy.kind === 'coffer' ? indexRecipientKeys(policy.config) : new Map<string, string>();
  const describeKey = (key: string) => nameKey(recipientNames, key);
  const runKey = randomBytes(32);
  const seen = new Map<string, { file: string; keyPath: string; environment: string | undefined }[]>();
  const decryptedText = new Map<string, { text: string; store: ReturnType<typeof detectStore> }>();
  const scorer = () => loadStrengthScorer();

  // Reads run ahead of the checks, a few dozen at a time: the checks are synchronous and the
  // files small, so waiting on each read in turn would leave the process idle most of the time.
  const reads = new Map<string, Promise<{ size: number | undefined; content: Uint8Array | undefined }>>();
  const readAhead = (path: string) => {
    let pending = reads.get(path);
    if (!pending) {
      pending = source.size(path).then(async (size) => ({ size, content: size === undefined || size > MAX_VERIFY_BYTES ? undefined : await source.read(path) }));
      reads.set(path, pending);
    }
    return pending;
  };
  // each path's environments, looked up once (the read-ahead filter and the checks both need them)
  const lookups = new Map<string, ReturnType<typeof lookupEnvironments>>();
  const environmentsOf = (config: CofferConfig, path: string) => {
    let lookup = lookups.get(path);
    if (!lookup) {
      lookup = lookupEnvironments(config, path);
      lookups.set(path, lookup);
    }
    return lookup;
  };
  // each environment's recipients, resolved once for all its files
  const plans = new Map<PolicyEnvironment, ReturnType<typeof planForEnvironment>>();
  const planOf = (config: CofferConfig, environment: PolicyEnvironment) => {
    let plan = plans.get(environment);
    if (!plan) {
      plan = planForEnvironment(config, environment);
      plans.set(environment, plan);
    }
    return plan;
  };
  const worthReading = (path: string) => {
    const store = detectStore(path);
    return PROBED_STORES.has(store) || (policy.kind === 'coffer' ? environmentsOf(policy.config, path).matches.length > 0 : true);
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
      const lookup = environmentsOf(policy.config, path);
      if (lookup.matches.length > 1) {
        problems.push(policyProblem(policyName, claimedTwiceError(policy.config, path, lookup.matches)));
        continue;
      }
      environment = lookup.matches[0]?.environment;
      claimed = environment !== undefined;
    } else {
      const rule = findCreationRule(policy.config, root, resolve(root, path));
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
      ...(store === 'yaml' || store === 'json' ? { validateMetadata } : {}),
    };
    const schema = environment ? await schemas.forFile(environment, path) : undefined;
    if (schema) target.schema = schema;
    const keyless = checkFileKeyless(target, now);
    fileProblems.push(...keyless.problems);
    if (options.keys && keyless.metadata && !keyless.problems.some((item) => item.rule === 'metadata-invalid' || item.rule === 'malformed-value')) {
      const keyed = await checkFileKeyed(target, options.keys, scorer);
      fileProblems.push(...keyed.problems);
      if (keyed.decrypted) report.decrypted++;
      for (const secret of keyed.secrets) {
        const digest = createHmac('sha256', runKey).update(secret.value).digest('base64');
        const list = seen.get(digest) ?? [];
        list.push({ file: path, keyPath: secret.keyPath, environment: environment?.name });
        seen.set(digest, list);
      }
      if (keyed.secrets.length > 0) decryptedText.set(path, { text: Buffer.from(content).toString('utf8'), store });
    }
    if (fileProblems.length > 0) addLines(fileProblems, Buffer.from(content).toString('utf8'), store);
    problems.push(...fileProblems);
  }
  if (!wanted && policy.kind === 'coffer') problems.push(...schemas.unmatchedGlobs(policy.config, all));

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
      const text = decryptedText.get(place.file);
      if (text) addLines([found], text.text, text.store);
      problems.push(found);
    }
  }
  report.problems = sortProblems(problems);
  return report;
}

/** Schemas named in coffer.yaml: read and compiled once each (and cached across runs); a missing or invalid one is one problem. */
class SchemaLoader {
  private readonly loaded = new Map<string, UserSchema | undefined>();
  private readonly usedGlobs = new Set<string>();

  constructor(
    private readonly source: FileSource,
    private readonly policyName: string,
    private readonly problems: Problem[],
    /** Where compiled schemas are cached across runs; values: the keyed checks need validateValues. */
    private readonly cache: { directory: string | undefined; values: boolean },
  ) {}

  async forFile(environment: PolicyEnvironment, path: string): Promise<UserSchema | undefined> {
    const binding = schemaBindingFor(environment, path);
    if (!binding) return undefined;
    if (binding.glob !== undefined) this.usedGlobs.add(`${environment.name}\0${binding.glob}`);
    const schemaPath = binding.path.replace(/^\.\//, '');
    if (this.loaded.has(schemaPath)) return this.loaded.get(schemaPath);
    let schema: UserSchema | undefined;
    const content = await this.source.read(schemaPath);
    if (content === undefined) {
      this.problems.push(
        problem('schema-invalid', this.policyName, `environment ${environment.name}: schema ${schemaPath} does not exist${this.source.kind === 'index' ? ' in the index (is it staged?)' : ''}`, {
          line: environment.line,
          hint: 'create the schema file, or fix the schema: path (it is relative to coffer.yaml)',
        }),
      );
    } else {
      try {
        schema = await loadUserSchema(Buffer.from(content).toString('utf8'), schemaPath, this.cache);
      } catch (error) {
        if (!isCofferError(error)) throw error;
        const line = typeof error.data['line'] === 'number' ? error.data['line'] : undefined;
        this.problems.push(problem('schema-invalid', schemaPath, error.message.replace(/^[^:]*(:\d+)?: /, ''), { ...(line ? { line } : {}), ...(error.hints[0] ? { hint: error.hints[0] } : {}) }));
      }
    }
    this.loaded.set(schemaPath, schema);
    return schema;
  }

  /** Schema globs that match no file: probably a typo, so that schema checks nothing. */
  unmatchedGlobs(config: CofferConfig, paths: readonly string[]): Problem[] {
    const found: Problem[] = [];
    for (const environment of config.environments) {
      for (const { glob, path } of environment.schemas ?? []) {
        if (glob === undefined || this.usedGlobs.has(`${environment.name}\0${glob}`)) continue;
        const pattern = globToRegExp(glob);
        if (paths.some((item) => pattern.test(item))) continue;
        found.push(problem('schema-invalid', this.policyName, `environment ${environment.name}: schema ${path} is for "${glob}", which matches no file`, { line: environment.line, severity: 'warning' }));
      }
    }
    return found;
  }
}
