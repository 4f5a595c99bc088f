// `coffer report --since DATE`: the auditor's access and change report (Markdown or HTML).
import type { Command } from 'commander';
import { filterEvents, parseDateOption, parseDuration } from '../../audit/log.js';
import { renderHtmlReport, renderMarkdownReport } from '../../audit/report.js';
import { CofferError } from '../../errors.js';
import { describeAccess, takeInventory } from '../../policy/inventory.js';
import type { CliContext } from '../context.js';
import { writeOutput } from '../file-access.js';
import { type HistoryCommandOptions, loadHistoryScope } from '../git-history.js';
import { addIdentityOptions } from '../options.js';
import { collectAnomalies } from './audit.js';
import { collectSecretStatus } from './status.js';

interface ReportOptions extends HistoryCommandOptions {
  since: string;
  format?: string;
  output?: string;
  window?: string;
  mass?: string;
  changeWindow?: string;
}

export function registerReportCommand(program: Command, context: CliContext): void {
  const command = program
    .command('report')
    .description('access and change report for an auditor: who can read what, every change since DATE, rotation status, open anomalies')
    .requiredOption('--since <date>', 'start of the period (2024-01-01, or 90d ago)')
    .option('--format <format>', 'markdown or html (default: from --output, else markdown)')
    .option('-o, --output <file>', 'write the report to this file (default stdout)')
    .option('--window <duration>', 'rotation "due soon" window', '14d')
    .option('--mass <n>', 'changed values in one commit that count as a mass change', '20')
    .option('--change-window <window>', 'allowed change window, e.g. "Mon-Fri 08:00-18:00"')
    .option('--ref <rev>', 'as of this branch or commit (default HEAD)')
    .option('--no-decrypt', 'compare ENC strings only, even when a key is available');
  addIdentityOptions(command);
  command
    .addHelpText('after', '\nExamples:\n  coffer report --since 2024-01-01 -o audit-2024.md\n  coffer report --since 90d --format html -o report.html')
    .action(async (options: ReportOptions) => {
      const format = options.format ?? (options.output?.endsWith('.html') ? 'html' : 'markdown');
      if (format !== 'markdown' && format !== 'html' && format !== 'md') throw new CofferError('USAGE', `--format "${format.slice(0, 20)}" is not markdown or html`);
      const since = parseDateOption(options.since, '--since');
      const now = new Date();
      const scope = await loadHistoryScope(context, options, 'coffer report');
      const access = scope.config ? (await takeInventory(scope.config)).files.map((file) => describeAccess(scope.config!, file)) : undefined;
      const data = {
        repository: scope.repository.dir,
        generatedAt: now,
        since,
        ...(access ? { access } : {}),
        changes: filterEvents(scope.history, scope.history.events, { since }),
        status: await collectSecretStatus(scope, now, parseDuration(options.window ?? '14d', '--window')),
        anomalies: (await collectAnomalies(scope, { ...(options.mass ? { mass: options.mass } : {}), ...(options.changeWindow ? { window: options.changeWindow } : {}) })).filter(
          (finding) => Date.parse(finding.date) >= since.getTime() || finding.kind === 'revoked reader, not rotated',
        ),
      };
      await writeOutput(context, options.output, format === 'html' ? renderHtmlReport(data) : renderMarkdownReport(data));
    });
}
