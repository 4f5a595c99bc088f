// `coffer rotate --due`: the secrets `coffer status` finds due, new values for those whose schema
// has a generator, committed on `coffer/rotate-<env>-<date>` (never checked out), pushed, and one
// pull request per environment found or created. `--dry-run` prints the plan; `--no-push` commits
// locally only.
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseDuration as parseDays } from '../../audit/log.js';
import { CofferError } from '../../errors.js';
import { parseKeyPath } from '../../format/key-path.js';
import type { SecretStatus } from '../../audit/status.js';
import { readCommitIdentity, readFileAtCommit } from '../../git/branch.js';
import { CODEOWNERS_PATHS, pullRequestLabels, resolveReviewers } from '../../github/owners.js';
import type { PathSegment } from '../../format/tree.js';
import { type CofferConfig, environmentFor, policyPath, schemaBindingFor } from '../../policy/coffer-config.js';
import { rotateFileValues, type ValueRotation } from '../../rotation/apply.js';
import { DUE_STATES, type DueSecret, describePolicy, planRotations, type RotationPlan, rotationBody, rotationBranchPrefix, rotationCommitMessage, rotationTitle } from '../../rotation/plan.js';
import { type PublishResult, publishChange } from '../../rotation/publish.js';
import type { CredentialKind } from '../../schema/annotations.js';
import { generateCredential } from '../../schema/generators.js';
import { compileUserSchema } from '../../schema/user-schema.js';
import { annotationAt } from '../../schema/walk.js';
import { type CliContext, note, writeJson } from '../context.js';
import { loadHistoryScope } from '../git-history.js';
import { startProgress } from '../progress.js';
import { addGitHubOptions, connectGitHub, type GitHubCommandOptions } from '../github-remote.js';
import type { KeyOptions } from '../options.js';
import { formatTable } from '../table.js';
import { collectSecretStatus } from './status.js';

export interface RotateDueOptions extends KeyOptions, GitHubCommandOptions {
  due?: boolean;
  dryRun?: boolean;
  window?: string;
}

/** The options `coffer rotate` gains for --due (keys.ts registers the command). */
export function addRotateDueOptions(command: Command): Command {
  command
    .option('--due', 'rotate every secret whose schema rule is due (see `coffer status`) in a pull request per environment')
    .option('--dry-run', 'with --due: print the plan; change nothing')
    .option('--window <duration>', 'with --due: also rotate what falls due within this long (14d, 4w)', '14d');
  return addGitHubOptions(command);
}

interface SchemaRoots {
  rootFor(file: string): Promise<Record<string, unknown> | undefined>;
}

/** Each environment's schema, compiled once (the binding for a path as `coffer status` finds it). */
function createSchemaRoots(config: CofferConfig | undefined, repositoryDir: string): SchemaRoots {
  const compiled = new Map<string, Promise<Record<string, unknown> | undefined>>();
  return {
    async rootFor(file) {
      if (!config) return undefined;
      const path = policyPath(config, join(repositoryDir, file));
      const environment = path === undefined ? undefined : environmentFor(config, path)?.environment;
      const binding = environment && schemaBindingFor(environment, path!);
      if (!binding) return undefined;
      let root = compiled.get(binding.path);
      if (!root) {
        root = readFile(join(config.dir, binding.path), 'utf8').then(
          (text) => compileUserSchema(text, binding.path).root,
          () => undefined,
        );
        compiled.set(binding.path, root);
      }
      return root;
    },
  };
}

interface Generator {
  /** The key path to regenerate (a key pair's parent when the leaf belongs to one). */
  keyPath: string;
  kind: CredentialKind;
  parameters: Record<string, unknown>;
}

/** The generator for a secret: its own x-coffer.kind, or its parent's key-pair kind. */
function generatorFor(root: Record<string, unknown> | undefined, keyPath: string): Generator | undefined {
  if (!root) return undefined;
  const segments = parseKeyPath(keyPath).map((segment) => (typeof segment === 'object' ? segment.text : segment));
  const own = annotationAt(root, segments);
  if (own?.kind && own.kind !== 'opaque') return { keyPath, kind: own.kind, parameters: { ...own.generate } };
  const parent = segments.length > 1 ? annotationAt(root, segments.slice(0, -1)) : undefined;
  if (parent?.kind?.endsWith('-key-pair')) return { keyPath: segments.slice(0, -1).join('.'), kind: parent.kind, parameters: { ...parent.generate } };
  return undefined;
}

function dueSecretOf(status: SecretStatus, environment: string, generator: Generator | undefined): DueSecret {
  return {
    file: status.file,
    keyPath: generator?.keyPath ?? status.keyPath,
    environment,
    state: status.state,
    ageDays: status.ageDays,
    policy: describePolicy(status),
    ...(generator ? { generator: generator.kind } : {}),
  };
}

export async function runRotateDue(context: CliContext, files: string[], options: RotateDueOptions): Promise<void> {
  if (files.length > 0) throw new CofferError('USAGE', '--due takes no files: it finds them from coffer.yaml and the schemas', { hints: ['coffer rotate --due --dry-run', 'or name files without --due to rotate their data keys'] });
  const windowDays = parseDays(options.window ?? '14d', '--window');
  const now = new Date();
  const scope = await loadHistoryScope(context, { ...options, ...(options.identity ? { identity: options.identity } : {}) }, 'coffer rotate --due');
  const dir = scope.repository.dir;
  const statuses = (await collectSecretStatus(scope, now, windowDays)).filter((status) => DUE_STATES.includes(status.state));
  const schemas = createSchemaRoots(scope.config, dir);
  const generators = new Map<string, Generator | undefined>();
  const due: DueSecret[] = [];
  const seen = new Set<string>();
  for (const status of statuses) {
    const environment = scope.environmentOf(status.file);
    if (!environment) continue;
    const generator = generatorFor(await schemas.rootFor(status.file), status.keyPath);
    const secret = dueSecretOf(status, environment, generator);
    const id = `${secret.file}\0${secret.keyPath}`;
    if (seen.has(id)) continue;
    seen.add(id);
    generators.set(id, generator);
    due.push(secret);
  }
  const plans = planRotations(due, now);
  if (options.dryRun) {
    printPlan(context, plans, options);
    return;
  }
  if (plans.length === 0) {
    if (options.json) writeJson(context, { dryRun: false, pullRequests: [] });
    else note(context, options.quiet, 'nothing is due: no secret has an overdue, expiring or soon-due rule');
    return;
  }
  // connect first: a missing token fails before anything is committed
  const remote = options.push === false ? undefined : await connectGitHub(context, dir, options, 'coffer rotate --due');
  const { author, committer } = await readCommitIdentity({ fs, dir }, context.env);
  const codeOwners = await readCodeOwners(dir);
  const results: (PublishResult & { environment: string; generated: string[]; alreadyRotated: string[] })[] = [];
  const progress = startProgress(context, plans.length, 'rotate --due', options);
  for (const plan of plans) {
    progress.tick(plan.environment);
    const generated: string[] = [];
    const alreadyRotated: string[] = [];
    const environment = scope.config?.environments.find((candidate) => candidate.name === plan.environment);
    const reviewers = resolveReviewers(scope.config, environment, [...new Set(plan.secrets.map((secret) => secret.file))], codeOwners);
    const result = await publishChange({
      fs,
      dir,
      branch: plan.branch,
      reusePrefix: rotationBranchPrefix(plan.environment),
      paths: [...new Set(plan.secrets.map((secret) => secret.file))],
      author,
      committer,
      message: rotationCommitMessage(plan, plan.secrets.filter((secret) => secret.generator)),
      remote,
      pullRequest: { title: rotationTitle(plan), body: rotationBody(plan), labels: pullRequestLabels('rotation', plan.environment), reviewers: reviewers.reviewers, teamReviewers: reviewers.teamReviewers },
      buildFiles: async (parent, base) => {
        const changed = new Map<string, string>();
        for (const file of [...new Set(plan.secrets.map((secret) => secret.file))]) {
          const rotations: ValueRotation[] = plan.secrets
            .filter((secret) => secret.file === file && secret.generator)
            .map((secret) => {
              const generator = generators.get(`${secret.file}\0${secret.keyPath}`)!;
              return { keyPath: secret.keyPath, generate: (segments: readonly PathSegment[]) => generateCredential(generator.kind, generator.parameters, `${file}: ${segments.join('.')}`) };
            });
          if (rotations.length === 0) continue;
          const current = (await readFileAtCommit({ fs, dir }, parent, file)) ?? (await readFileAtCommit({ fs, dir }, base, file));
          if (!current) continue;
          const rotation = await rotateFileValues(file, current, await readFileAtCommit({ fs, dir }, base, file), rotations, scope.keys!);
          generated.push(...rotation.rotated.map((keyPath) => `${file}: ${keyPath}`));
          alreadyRotated.push(...rotation.alreadyRotated.map((keyPath) => `${file}: ${keyPath}`));
          if (rotation.content !== undefined) changed.set(file, rotation.content);
        }
        return changed;
      },
    });
    results.push({ ...result, environment: plan.environment, generated, alreadyRotated });
    if (!options.json) reportResult(context, options, plan, result, generated);
  }
  progress.done();
  if (options.json) writeJson(context, { dryRun: false, pullRequests: results });
}

async function readCodeOwners(dir: string): Promise<string | undefined> {
  for (const path of CODEOWNERS_PATHS) {
    const text = await readFile(join(dir, path), 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  return undefined;
}

function printPlan(context: CliContext, plans: RotationPlan[], options: RotateDueOptions): void {
  if (options.json) {
    writeJson(context, { dryRun: true, plans });
    return;
  }
  if (plans.length === 0) {
    note(context, options.quiet, 'nothing is due: no secret has an overdue, expiring or soon-due rule');
    return;
  }
  const rows = plans.flatMap((plan) => plan.secrets.map((secret) => [plan.branch, `${secret.file}: ${secret.keyPath}`, secret.state, `${secret.ageDays}d`, secret.policy, secret.generator ? `generate (${secret.generator})` : 'manual']));
  context.stdout.write(`${formatTable([['BRANCH', 'KEY', 'STATUS', 'AGE', 'POLICY', 'CHANGE'], ...rows])}\n`);
  const count = plans.reduce((sum, plan) => sum + plan.secrets.length, 0);
  note(context, options.quiet, `[dry run] ${count} due secret${count === 1 ? '' : 's'} in ${plans.length} pull request${plans.length === 1 ? '' : 's'}; nothing written`);
}

function reportResult(context: CliContext, options: RotateDueOptions, plan: RotationPlan, result: PublishResult, generated: string[]): void {
  const what = result.committed ? `committed ${result.commit.slice(0, 7)} (${generated.length} generated)` : 'no new commit (nothing new to generate)';
  note(context, options.quiet, `${plan.environment}: ${result.branch}: ${what}${result.pushed ? ', pushed' : ''}`);
  if (result.pullRequest) context.stdout.write(`${result.pullRequest.url} (${result.pullRequest.action})\n`);
  const manual = plan.secrets.filter((secret) => !secret.generator).length;
  if (manual > 0) note(context, options.quiet, `${plan.environment}: ${manual} secret${manual === 1 ? '' : 's'} must be changed by hand (listed in the pull request)`);
}
