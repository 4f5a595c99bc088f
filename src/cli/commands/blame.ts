// `coffer blame FILE`: each key path with the commit that last changed it, and its age.
import type { Command } from 'commander';
import { blameFile } from '../../audit/blame.js';
import { CofferError } from '../../errors.js';
import { formatTable } from '../table.js';
import { type CliContext, writeJson } from '../context.js';
import { type HistoryCommandOptions, loadHistoryScope } from '../git-history.js';
import { addIdentityOptions } from '../options.js';

interface BlameOptions extends HistoryCommandOptions {
  json?: boolean;
}

export function registerBlameCommand(program: Command, context: CliContext): void {
  const command = program
    .command('blame')
    .description('each key path of a secrets file with its last change (commit, author, date) and age')
    .argument('<file>', 'a secrets file in a git repository')
    .option('--ref <rev>', 'blame as of this branch or commit (default HEAD)')
    .option('--no-decrypt', 'compare ENC strings only, even when a key is available')
    .option('--json', 'machine-readable output');
  addIdentityOptions(command);
  command.action(async (file: string, options: BlameOptions) => {
    // only this file's history (and its earlier names), like `coffer log FILE`, with its caches
    const scope = await loadHistoryScope(context, options, 'coffer blame', file);
    const path = scope.toRepositoryPath(file);
    const rows = await blameFile(scope.history, path);
    if (!rows) {
      throw new CofferError('FILE_NOT_FOUND', `${file} is not an encrypted file committed at ${options.ref ?? 'HEAD'}`, {
        hints: ['commit the file first; blame reads git history, not the working tree'],
        data: { file },
      });
    }
    if (options.json) {
      writeJson(context, { file: path, keys: rows });
      return;
    }
    const table = rows.map((row) => [
      row.keyPath,
      row.commit.slice(0, 7),
      row.author,
      row.date.slice(0, 10),
      `${row.ageDays}d`,
      row.reEncryptedAt ? `${row.event}; re-encrypted ${row.reEncryptedAt.date.slice(0, 10)} (may have changed)` : row.event,
    ]);
    context.stdout.write(`${formatTable([['KEY', 'COMMIT', 'AUTHOR', 'DATE', 'AGE', 'EVENT'], ...table])}\n`);
  });
}
