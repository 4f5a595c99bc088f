// `coffer log [FILE] [PATH]`: the history of each secret key, from git, without a key.
import type { Command } from 'commander';
import { filterEvents, parseDateOption } from '../../audit/log.js';
import { CofferError } from '../../errors.js';
import { formatTable } from '../table.js';
import { type CliContext, writeJson } from '../context.js';
import type { HistoryCommandOptions } from '../git-history.js';
import { loadLogScope } from '../file-log.js';
import type { KeyEvent } from '../../audit/history.js';
import { addIdentityOptions } from '../options.js';

interface LogOptions extends HistoryCommandOptions {
  since?: string;
  until?: string;
  author?: string;
  env?: string;
  path?: string;
  json?: boolean;
  ndjson?: boolean;
}

export function registerLogCommand(program: Command, context: CliContext): void {
  const command = program
    .command('log')
    .description('history of each secret key from git: added, changed, removed, recipients changed, data key rotated, re-encrypted')
    .argument('[file]', 'one secrets file (earlier names are followed across renames)')
    .argument('[path]', 'one key path, or a parent of several (db selects db.password)')
    .option('--since <date>', 'events on or after this date (2024-05-01, or 30d ago)')
    .option('--until <date>', 'events on or before this date')
    .option('--author <text>', "part of the author's name or email")
    .option('--env <environment>', 'only files of this coffer.yaml environment')
    .option('--path <keyPath>', 'only this key path (or its children); `*` matches within a segment')
    .option('--ref <rev>', 'walk the history of this branch or commit (default HEAD)')
    .option('--no-decrypt', 'compare ENC strings only, even when a key is available')
    .option('--json', 'one JSON document with every event')
    .option('--ndjson', 'one JSON event per line (for log collectors)');
  addIdentityOptions(command);
  command
    .addHelpText(
      'after',
      `
Without a key, events come from comparing ENC[...] strings: coffer keeps the ciphertext of unchanged
values, so "changed" is exact. A tool that re-encrypts every value (SOPS) shows "re-encrypted";
with a key that can decrypt the file, coffer decrypts both versions and tells real changes apart.

Examples:
  coffer log
  coffer log secrets/prod.yaml db.password
  coffer log --env prod --since 90d --ndjson >> audit.ndjson`,
    )
    .action(async (file: string | undefined, keyPath: string | undefined, options: LogOptions) => {
      const scope = await loadLogScope(context, options, file);
      const events = filterEvents(scope.history, scope.history.events, {
        ...(options.since ? { since: parseDateOption(options.since, '--since') } : {}),
        ...(options.until ? { until: parseDateOption(options.until, '--until') } : {}),
        ...(options.author ? { author: options.author } : {}),
        ...(file ? { file: scope.toRepositoryPath(file) } : {}),
        ...((keyPath ?? options.path) ? { keyPath: (keyPath ?? options.path)! } : {}),
        ...(options.env ? { environment: options.env, environmentOf: scope.environmentOf } : {}),
      }).reverse();
      const pattern = keyPath ?? options.path;
      if (pattern !== undefined) {
        // a key path no version ever had is a mistake to say so, not an empty history
        const ever = filterEvents(scope.history, scope.history.events, { ...(file ? { file: scope.toRepositoryPath(file) } : {}), keyPath: pattern });
        if (!ever.some((event) => event.keyPath !== null)) {
          const where = file ? `${file} (or its earlier names)` : 'any secrets file';
          throw new CofferError('KEY_NOT_FOUND', `key path "${pattern.slice(0, 80)}" never existed in ${where} in the history of ${options.ref ?? 'HEAD'}`, {
            hints: [file ? `\`coffer blame ${file}\` lists its key paths` : 'name the file: coffer log FILE KEY_PATH', 'key paths are dotted: db.password, items[0].name'],
            data: { keyPath: pattern, ...(file ? { file } : {}) },
          });
        }
      }
      if (options.ndjson) {
        for (const event of events) context.stdout.write(`${JSON.stringify(event)}\n`);
        return;
      }
      if (options.json) {
        writeJson(context, { repository: scope.dir, events });
        return;
      }
      if (events.length === 0) {
        context.stderr.write('no secret key events\n');
        return;
      }
      context.stdout.write(`${formatTable([['DATE', 'COMMIT', 'AUTHOR', 'FILE', 'KEY', 'EVENT', 'DETAIL'], ...events.map(eventRow)])}\n`);
    });
}

/** An event as one line of the log table. */
function eventRow(event: KeyEvent): string[] {
  const detail =
    event.event === 'recipients changed'
      ? [...(event.recipientsAdded ?? []).map((key) => `+${shortKey(key)}`), ...(event.recipientsRemoved ?? []).map((key) => `-${shortKey(key)}`)].join(' ')
      : (event.problem ?? (event.renamedFrom ? `renamed from ${event.renamedFrom}` : ''));
  return [event.date.slice(0, 10), event.commit.slice(0, 7), event.author, event.file, event.keyPath ?? '*', event.event, detail];
}

function shortKey(key: string): string {
  return key.length > 24 ? `${key.slice(0, 20)}…` : key;
}
