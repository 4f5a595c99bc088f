// `coffer explain FILE`: which config applies to a path, which environment or creation rule
// matched and why (the pattern, and the ones tried before it), and the recipients that result.
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { CofferError, ExitCode } from '../../errors.js';
import type { RecipientPlan } from '../../file/key-ring.js';
import { indexRecipientKeys, lookupEnvironments, planForEnvironment, policyPath, recipientKey } from '../../policy/coffer-config.js';
import { recipientsFromFlags } from '../../keys/recipients.js';
import { pathForRules, toRegExp } from '../../policy/sops-config.js';
import { type CliContext, writeJson } from '../context.js';
import { absolutePath } from '../file-access.js';
import { loadCommandPolicy } from '../key-setup.js';

interface ExplainOptions {
  json?: boolean;
  config?: string;
}

interface Explanation {
  file: string;
  config: string | null;
  kind: 'coffer' | 'sops' | null;
  /** The path the patterns were matched against. */
  matchedPath: string | null;
  tried: { name: string; line: number; patterns: string[]; matched: string | null }[];
  applies: string | null;
  recipients: { group: number; name: string | null; key: string }[];
  shamirThreshold: number | null;
  selectionRule: string | null;
  overriddenBy: string | null;
  problem: string | null;
}

function recipientRows(plan: RecipientPlan, names: ReadonlyMap<string, string>): Explanation['recipients'] {
  return plan.groups.flatMap((group, index) => [
    ...group.age.map((key) => ({ group: index + 1, name: names.get(key) ?? null, key })),
    ...group.pgp.map((key) => ({ group: index + 1, name: names.get(recipientKey(key, 'pgp')) ?? null, key: `pgp:${key}` })),
  ]);
}

export function registerExplainCommand(program: Command, context: CliContext): void {
  program
    .command('explain')
    .description('which config file, environment or creation rule applies to a path, why, and the recipients that result')
    .argument('<file>', 'a secrets file (it need not exist yet)')
    .option('--json', 'machine-readable output')
    .option('--config <file>', 'path of coffer.yaml or .sops.yaml (default: searched upward; coffer.yaml wins)')
    .addHelpText('after', '\nExamples:\n  coffer explain secrets/prod.yaml\n  coffer explain --json secrets/dev/api.env')
    .action(async (file: string, options: ExplainOptions) => {
      const policy = await loadCommandPolicy(context, options);
      const absolute = absolutePath(context, file);
      const explanation: Explanation = {
        file,
        config: policy?.config.path ?? null,
        kind: policy?.kind ?? null,
        matchedPath: null,
        tried: [],
        applies: null,
        recipients: [],
        shamirThreshold: null,
        selectionRule: null,
        overriddenBy: null,
        problem: null,
      };
      const flags = recipientsFromFlags({}, context.env);
      if (flags) explanation.overriddenBy = context.env['SOPS_AGE_RECIPIENTS'] ? 'SOPS_AGE_RECIPIENTS' : 'SOPS_PGP_FP';
      if (policy?.kind === 'coffer') {
        const { config } = policy;
        const path = policyPath(config, absolute);
        explanation.matchedPath = path ?? null;
        if (path === undefined) explanation.problem = `the file is outside ${config.dir}, where coffer.yaml applies`;
        else {
          const lookup = lookupEnvironments(config, path);
          explanation.tried = lookup.tried.map((entry) => ({
            name: `environment ${entry.environment}`,
            line: config.environments.find((environment) => environment.name === entry.environment)!.line,
            patterns: entry.patterns,
            matched: entry.matched ?? null,
          }));
          const [match, second] = lookup.matches;
          if (second) explanation.problem = `claimed by ${lookup.matches.length} environments (${lookup.matches.map((m) => m.environment.name).join(', ')}); a file must belong to one`;
          else if (!match) explanation.problem = 'no environment claims this path';
          if (match) {
            const plan = planForEnvironment(config, match.environment);
            explanation.applies = `environment ${match.environment.name}`;
            explanation.recipients = recipientRows(plan, indexRecipientKeys(config));
            explanation.shamirThreshold = plan.groups.length > 1 ? (plan.shamirThreshold ?? plan.groups.length) : null;
            const rule = match.environment.selectionRule;
            explanation.selectionRule = rule ? `${rule.kind}: ${rule.pattern}` : null;
          }
        }
      } else if (policy?.kind === 'sops') {
        const { config } = policy;
        const subject = pathForRules(dirname(config.path), absolute);
        explanation.matchedPath = subject;
        for (const [index, rule] of config.creationRules.entries()) {
          const matched = rule.pathRegex === undefined || toRegExp(rule.pathRegex, () => new CofferError('CONFIG_INVALID', `${config.path}:${rule.line}: bad path_regex`)).test(subject);
          explanation.tried.push({ name: `creation rule ${index + 1}`, line: rule.line, patterns: [rule.pathRegex ?? '(no path_regex: matches every file)'], matched: matched ? (rule.pathRegex ?? '') : null });
          if (!matched) continue;
          explanation.applies = `creation rule ${index + 1}`;
          explanation.recipients = recipientRows({ groups: rule.groups }, new Map());
          explanation.shamirThreshold = rule.groups.length > 1 ? (rule.shamirThreshold || rule.groups.length) : null;
          explanation.selectionRule = rule.selectionRule ? `${rule.selectionRule.kind}: ${rule.selectionRule.pattern}` : null;
          if (rule.unsupportedSources.length) explanation.problem = `the rule also uses ${rule.unsupportedSources.join(', ')}, which coffer cannot use`;
          break; // SOPS takes the first rule that matches
        }
        if (!explanation.applies) explanation.problem = 'no creation rule matches this path';
      } else explanation.problem = 'no coffer.yaml or .sops.yaml found from here upward';

      if (options.json) {
        writeJson(context, explanation);
        if (explanation.problem?.startsWith('claimed by')) program.setOptionValue('__exitCode', ExitCode.usage);
        return;
      }
      const out: string[] = [];
      out.push(`file:     ${file}${explanation.matchedPath && explanation.matchedPath !== file ? ` (matched as ${explanation.matchedPath})` : ''}`);
      out.push(`config:   ${explanation.config ?? 'none'}${policy?.kind === 'coffer' ? ' (coffer.yaml wins over .sops.yaml)' : ''}`);
      if (explanation.tried.length) {
        out.push(policy?.kind === 'sops' ? 'rules, in order (the first match wins):' : 'environments (a file must match exactly one):');
        for (const entry of explanation.tried) {
          const verdict = entry.matched !== null ? `MATCH (${entry.matched || 'no path_regex'})` : 'no match';
          out.push(`  ${entry.name} (line ${entry.line}): ${entry.patterns.join(', ')}  -> ${verdict}`);
        }
      }
      if (explanation.applies) out.push(`applies:  ${explanation.applies}`);
      if (explanation.recipients.length) {
        const groups = new Set(explanation.recipients.map((row) => row.group)).size;
        out.push(groups > 1 ? `recipients (${groups} key groups, ${explanation.shamirThreshold} needed to decrypt):` : 'recipients:');
        for (const row of explanation.recipients) out.push(`  ${groups > 1 ? `group ${row.group}: ` : ''}${row.name ? `${row.name}  ` : ''}${row.key}`);
      }
      if (explanation.selectionRule) out.push(`encrypts: values selected by ${explanation.selectionRule}`);
      if (explanation.overriddenBy) out.push(`note:     ${explanation.overriddenBy} is set and overrides these recipients when encrypting`);
      if (explanation.problem) out.push(`problem:  ${explanation.problem}`);
      context.stdout.write(`${out.join('\n')}\n`);
      // two environments claiming a file is a policy error: say so in the exit code too
      if (explanation.problem?.startsWith('claimed by')) program.setOptionValue('__exitCode', ExitCode.usage);
    });
}
