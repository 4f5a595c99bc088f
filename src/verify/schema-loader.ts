// The schemas coffer.yaml names, as `coffer verify` needs them: each file read once (its bytes are
// part of every cache key of the files it checks), compiled only when a file's keyless result is
// not cached or values are checked with a key, and a missing or invalid one reported once. Whether
// a schema is valid is itself cached, so a run where every file hits never compiles one.
import { isCofferError } from '../errors.js';
import { type CofferConfig, type PolicyEnvironment, schemaBindingFor } from '../policy/coffer-policy.js';
import { globToRegExp } from '../policy/glob.js';
import type { UserSchema } from '../schema/user-schema.js';
import { type Problem, problem } from './report.js';
import { cacheKey, type VerifyCache } from './result-cache.js';
import type { FileSource } from './sources.js';

/** A schema file as read: its path relative to the policy, text and digest. */
export interface SchemaSource {
  path: string;
  text: string;
  /** cacheKey of the path and text. */
  digest: string;
}

export class SchemaLoader {
  private readonly sources = new Map<string, Promise<SchemaSource | undefined>>();
  private readonly compiled = new Map<string, Promise<UserSchema | undefined>>();
  private readonly judged = new Set<string>();
  private readonly usedGlobs = new Set<string>();

  constructor(
    private readonly source: FileSource,
    private readonly policyName: string,
    private readonly problems: Problem[],
    /** directory: where compiled schemas are cached across runs; values: the keyed checks need validateValues. */
    private readonly options: { directory: string | undefined; values: boolean; results: VerifyCache | undefined },
  ) {}

  /** The schema file an environment gives `path` (undefined: none, or it does not exist, which is reported once). */
  async sourceFor(environment: PolicyEnvironment, path: string): Promise<SchemaSource | undefined> {
    const binding = schemaBindingFor(environment, path);
    if (!binding) return undefined;
    if (binding.glob !== undefined) this.usedGlobs.add(`${environment.name}\0${binding.glob}`);
    const schemaPath = binding.path.replace(/^\.\//, '');
    let pending = this.sources.get(schemaPath);
    if (!pending) {
      pending = this.read(schemaPath, environment);
      this.sources.set(schemaPath, pending);
    }
    return pending;
  }

  private async read(schemaPath: string, environment: PolicyEnvironment): Promise<SchemaSource | undefined> {
    const content = await this.source.read(schemaPath);
    if (content === undefined) {
      this.problems.push(
        problem('schema-invalid', this.policyName, `environment ${environment.name}: schema ${schemaPath} does not exist${this.source.kind === 'index' ? ' in the index (is it staged?)' : ''}`, {
          line: environment.line,
          hint: 'create the schema file, or fix the schema: path (it is relative to coffer.yaml)',
        }),
      );
      return undefined;
    }
    const text = Buffer.from(content).toString('utf8');
    return { path: schemaPath, text, digest: cacheKey('schema', schemaPath, text) };
  }

  /** Reports the schema once when it is invalid: from its cached verdict, else by compiling it. */
  async judge(schema: SchemaSource): Promise<void> {
    if (this.judged.has(schema.path)) return;
    const verdict = this.options.results?.schema(schema.digest, schema.path);
    if (!verdict) {
      await this.compile(schema);
      return;
    }
    this.judged.add(schema.path);
    if (verdict.problem) this.problems.push(verdict.problem);
  }

  /** The compiled schema; undefined when it is invalid (reported once). */
  compile(schema: SchemaSource): Promise<UserSchema | undefined> {
    let pending = this.compiled.get(schema.path);
    if (!pending) {
      pending = this.load(schema);
      this.compiled.set(schema.path, pending);
    }
    return pending;
  }

  private async load(schema: SchemaSource): Promise<UserSchema | undefined> {
    let found: Problem | undefined;
    let loaded: UserSchema | undefined;
    try {
      // only a cache miss or a keyed run gets here: a run where every file hits loads no schema code
      const { loadUserSchema } = await import('../schema/schema-cache.js');
      loaded = await loadUserSchema(schema.text, schema.path, this.options);
    } catch (error) {
      if (!isCofferError(error)) throw error;
      const line = typeof error.data['line'] === 'number' ? error.data['line'] : undefined;
      found = problem('schema-invalid', schema.path, error.message.replace(/^[^:]*(:\d+)?: /, ''), { ...(line ? { line } : {}), ...(error.hints[0] ? { hint: error.hints[0] } : {}) });
    }
    this.options.results?.putSchema(schema.digest, found ? { problem: found } : {});
    if (!this.judged.has(schema.path)) {
      this.judged.add(schema.path);
      if (found) this.problems.push(found);
    }
    return loaded;
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
