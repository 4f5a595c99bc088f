// `coffer status`: every secret's age against the rotate/expires rules of its environment's schema.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { blameFile } from '../../audit/blame.js';
import { parseDuration as parseDays } from '../../audit/log.js';
import { describeSecretStatus, type LifetimeRule, type SecretStatus } from '../../audit/status.js';
import { type CofferConfig, environmentFor, type PolicyEnvironment, policyPath, schemaBindingFor } from '../../policy/coffer-config.js';
import { parseDuration, parseExpiry } from '../../schema/annotations.js';
import { compileUserSchema, type UserSchema } from '../../schema/user-schema.js';
import { annotationAt } from '../../schema/walk.js';
import { formatTable } from '../table.js';
import { type CliContext, writeJson } from '../context.js';
import { type HistoryCommandOptions, type HistoryScope, loadHistoryScope } from '../git-history.js';
import { addIdentityOptions } from '../options.js';

interface StatusOptions extends HistoryCommandOptions {
  window?: string;
  json?: boolean;
  all?: boolean;
}

/** The schema file an environment names for a path. */
function schemaPathFor(environment: PolicyEnvironment, path: string): string | undefined {
  return schemaBindingFor(environment, path)?.path.replace(/^\.\//, '');
}

/** Looks rules up in the schemas named by coffer.yaml (each compiled once). */
function createRuleLookup(config: CofferConfig | undefined, root: string) {
  const schemas = new Map<string, Promise<UserSchema | undefined>>();
  const load = (path: string) => {
    let schema = schemas.get(path);
    if (!schema) {
      schema = readFile(join(config!.dir, path), 'utf8').then(
        (text) => compileUserSchema(text, path),
        () => undefined,
      );
      schemas.set(path, schema);
    }
    return schema;
  };
  return async (file: string): Promise<UserSchema | undefined> => {
    if (!config) return undefined;
    const relative = policyPath(config, join(root, file));
    if (relative === undefined) return undefined;
    const match = (() => {
      try {
        return environmentFor(config, relative);
      } catch {
        return undefined;
      }
    })();
    const schemaPath = match ? schemaPathFor(match.environment, relative) : undefined;
    return schemaPath ? load(schemaPath) : undefined;
  };
}

export async function collectSecretStatus(scope: HistoryScope, now: Date, windowDays: number): Promise<SecretStatus[]> {
  const schemaFor = createRuleLookup(scope.config, scope.repository.dir);
  const rows: SecretStatus[] = [];
  for (const [file, oid] of [...scope.history.head].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const blame = await blameFile(scope.history, file, now);
    if (!blame) continue;
    const version = await scope.history.versionOf(oid, file);
    const schema = await schemaFor(file);
    const ruleAt = (_keyPath: string, segments: (string | number)[] | undefined): LifetimeRule | undefined => {
      if (!schema || !segments) return undefined;
      const annotation = annotationAt(schema.root, segments);
      return annotation ? { ...(annotation.rotate ? { rotate: annotation.rotate } : {}), ...(annotation.expires ? { expires: annotation.expires } : {}) } : undefined;
    };
    const segmentsOf = (keyPath: string) => (version.kind === 'encrypted' ? version.paths.get(keyPath) : undefined);
    rows.push(...describeSecretStatus(file, blame, ruleAt, segmentsOf, { now, windowDays, parseDuration, parseExpiry }));
  }
  return rows;
}

export function registerStatusCommand(program: Command, context: CliContext): void {
  const command = program
    .command('status')
    .description("every secret's age against its schema's rotate/expires rule: ok, due soon, overdue, expired")
    .option('--window <duration>', '"due soon" this long before a deadline (14d, 4w)', '14d')
    .option('--all', 'also list secrets without a rotate or expires rule')
    .option('--ref <rev>', 'as of this branch or commit (default HEAD)')
    .option('--no-decrypt', 'compare ENC strings only, even when a key is available')
    .option('--json', 'machine-readable output');
  addIdentityOptions(command);
  command
    .addHelpText('after', '\nAges come from git history (`coffer blame`); rules from x-coffer.rotate and x-coffer.expires in the schema of each environment.\nExit code 3 when a secret is overdue or expired.\n\nExamples:\n  coffer status\n  coffer status --window 30d --json')
    .action(async (options: StatusOptions) => {
      const windowDays = parseDays(options.window ?? '14d', '--window');
      const scope = await loadHistoryScope(context, options, 'coffer status');
      const all = await collectSecretStatus(scope, new Date(), windowDays);
      const rows = options.all ? all : all.filter((row) => row.state !== 'no rule');
      const late = rows.filter((row) => row.state === 'overdue' || row.state === 'expired').length;
      if (options.json) writeJson(context, { window: options.window ?? '14d', secrets: rows });
      else if (rows.length === 0) context.stderr.write(all.length ? `no secret has a rotate or expires rule (${all.length} without; --all lists them)\n` : 'no secrets files in history\n');
      else {
        const table = rows.map((row) => [row.file, row.keyPath, row.state, row.lastChanged.slice(0, 10), `${row.ageDays}d`, [row.rotate ? `rotate ${row.rotate}` : '', row.expires ? `expires ${row.expires}` : ''].filter(Boolean).join(', ') || '-', row.dueAt?.slice(0, 10) ?? '-']);
        context.stdout.write(`${formatTable([['FILE', 'KEY', 'STATUS', 'CHANGED', 'AGE', 'RULE', 'DUE'], ...table])}\n`);
      }
      if (late > 0) program.setOptionValue('__exitCode', 3);
    });
}
