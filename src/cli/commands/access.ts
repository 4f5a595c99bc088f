// `coffer access`: who can read which file today, from each file's own metadata, and where that
// drifts from coffer.yaml.
import type { Command } from 'commander';
import { indexRecipientKeys } from '../../policy/coffer-config.js';
import { describeAccess, describeRecipientAccess, type FileAccess, takeInventory, unmatchedGlobError } from '../../policy/inventory.js';
import { requireCofferConfig } from '../../policy/policy-file.js';
import { type CliContext, writeJson } from '../context.js';
import { formatTable } from '../table.js';

interface AccessOptions {
  who?: string;
  json?: boolean;
  config?: string;
  allowUnmatched?: boolean;
}

function readersCell(row: FileAccess): string {
  if (row.keyGroups) return `${row.threshold} of ${row.keyGroups.map((group) => `[${group.join(', ')}]`).join(' ')}`;
  return row.readers.join(', ') || '-';
}

function driftCell(row: FileAccess): string {
  if (row.status === 'unmanaged') return 'no environment claims this file';
  if (row.status === 'not-encrypted' || row.status === 'unreadable') return row.problem ?? row.status;
  const parts = [
    ...(row.notInPolicy.length ? [`not in policy: ${row.notInPolicy.join(', ')}`] : []),
    ...(row.notInFile.length ? [`not in file: ${row.notInFile.join(', ')}`] : []),
    ...(row.keyGroupsDiffer ? ['key groups differ from policy'] : []),
  ];
  return parts.join('; ') || 'ok';
}

export function registerAccessCommand(program: Command, context: CliContext): void {
  program
    .command('access')
    .description("who can read which secrets file today (from each file's metadata), and drift from coffer.yaml")
    .option('--who <name>', 'only what this recipient can read')
    .option('--json', 'machine-readable output')
    .option('--config <file>', 'path of coffer.yaml (default: COFFER_CONFIG, else searched upward)')
    .option('--allow-unmatched', 'do not fail when an environment glob matches no file')
    .addHelpText(
      'after',
      `
Drift: "not in policy" are recipients a file is wrapped for that coffer.yaml does not give it;
"not in file" are recipients coffer.yaml gives it that cannot read it yet. Fix both with
\`coffer updatekeys --all\`.

Examples:
  coffer access
  coffer access --who alice
  coffer access --json | jq '.files[] | select(.status != "ok")'`,
    )
    .action(async (options: AccessOptions) => {
      const config = await requireCofferConfig(context.cwd, { ...(options.config ? { configPath: options.config } : {}), env: context.env }, 'coffer access');
      const inventory = await takeInventory(config);
      const unmatched = unmatchedGlobError(inventory);
      if (unmatched && !options.allowUnmatched) throw unmatched;
      if (options.who !== undefined) {
        const rows = describeRecipientAccess(config, inventory, options.who);
        if (options.json) {
          writeJson(context, { config: config.path, recipient: options.who, files: rows });
          return;
        }
        if (rows.length === 0) context.stdout.write(`${options.who} can read no file\n`);
        else context.stdout.write(`${formatTable([['FILE', 'ENVIRONMENT', 'ACCESS'], ...rows.map((row) => [row.path, row.environment ?? '-', row.access])])}\n`);
        return;
      }
      const index = indexRecipientKeys(config);
      const rows = inventory.files.map((file) => describeAccess(config, file, index));
      const drifted = rows.filter((row) => row.status !== 'ok').length;
      if (options.json) {
        writeJson(context, { config: config.path, files: rows, drift: drifted });
        return;
      }
      if (rows.length === 0) {
        context.stdout.write('no secrets files yet\n');
        return;
      }
      const table = [['FILE', 'ENVIRONMENT', 'READERS', 'DRIFT'], ...rows.map((row) => [row.path, row.environment ?? '-', readersCell(row), driftCell(row)])];
      context.stdout.write(`${formatTable(table)}\n`);
      if (drifted > 0) context.stderr.write(`${drifted} of ${rows.length} files differ from coffer.yaml; \`coffer updatekeys --all --dry-run\` shows the fix\n`);
    });
}
