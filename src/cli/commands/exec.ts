// `coffer exec` and `coffer exec-file`: hand decrypted values to a command without writing them to disk.
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { openFile } from '../../file/secrets-file.js';
import type { StoreDocument } from '../../format/tree.js';
import { runWithEnvironment, runWithFile } from '../../io/exec.js';
import type { CliContext } from '../context.js';
import { parseStoreName, readSource } from '../file-access.js';
import { createKeyRing, readOnlyOpenOptions } from '../key-setup.js';
import { ExitSignal } from '../main.js';
import { addIdentityOptions, addMacOption, type KeyOptions } from '../options.js';
import { isScalar, renderDocument, scalarText } from '../output.js';

interface ExecOptions extends KeyOptions {
  inputType?: string;
  pristine?: boolean;
}

interface ExecFileOptions extends KeyOptions {
  inputType?: string;
  outputType?: string;
  filename?: string;
  placeholder?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** With pass-through options commander keeps the `--` separator; the command starts after it. */
function commandAfterSeparator(command: string[]): string[] {
  const rest = command[0] === '--' ? command.slice(1) : command;
  if (rest.length === 0) throw new CofferError('USAGE', 'no command given', { hints: ['put the command after --: coffer exec FILE -- cmd args'] });
  return rest;
}

/** The top-level scalar values as environment variables (as sops exec-env does); others are skipped. */
export function environmentOf(plain: StoreDocument): { vars: Map<string, string>; skipped: string[] } {
  const vars = new Map<string, string>();
  const skipped: string[] = [];
  const [document] = plain.toPlain();
  if (document instanceof Map) {
    for (const [key, value] of document) {
      if (ENV_NAME.test(key) && isScalar(value) && value !== null) vars.set(key, scalarText(value));
      else skipped.push(key);
    }
  }
  return { vars, skipped };
}

export function registerExecCommands(program: Command, context: CliContext): void {
  const exec = program
    .command('exec')
    .description('run a command with the file\'s top-level values as environment variables (nothing written to disk)')
    .argument('<file>', 'encrypted file')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--pristine', 'give the command only the decrypted variables, not coffer\'s own environment')
    .option('--input-type <store>', 'store of the file (default: from the extension)')
    .option('-q, --quiet', 'do not list skipped keys');
  addMacOption(exec);
  addIdentityOptions(exec);
  exec
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Only top-level keys that are valid variable names and hold scalars are exported; nested maps are skipped.
The command's exit status is coffer's exit status.

Examples:
  coffer exec secrets/dev.env -- npm start
  coffer exec secrets/prod.yaml -- sh -c 'psql "$DATABASE_URL"'`,
    )
    .action(async (file: string, command: string[], options: ExecOptions) => {
      const keys = await createKeyRing(context, options);
      const opened = await openFile(await readSource(context, file, options.inputType), keys, readOnlyOpenOptions(context, options));
      const { vars, skipped } = environmentOf(opened.plain);
      if (skipped.length > 0 && !options.quiet) {
        context.stderr.write(`coffer: not exported (not a variable name, or not a scalar): ${skipped.join(', ')}\n`);
      }
      const status = await runWithEnvironment(commandAfterSeparator(command), vars, { env: context.env, cwd: context.cwd, pristine: options.pristine ?? false });
      throw new ExitSignal(status);
    });

  const execFile = program
    .command('exec-file')
    .description('run a command with the decrypted file readable at {} (a FIFO in a private directory; never a regular file)')
    .argument('<file>', 'encrypted file')
    .argument('<command...>', 'the command and its arguments, after --; {} is replaced by the path')
    .option('--output-type <store>', 'store of the decrypted file handed to the command')
    .option('--filename <name>', 'file name of the FIFO (default: the file\'s base name)')
    .option('--placeholder <text>', 'text replaced by the path in the arguments', '{}')
    .option('--input-type <store>', 'store of the file (default: from the extension)');
  addMacOption(execFile);
  addIdentityOptions(execFile);
  execFile
    .passThroughOptions()
    .addHelpText('after', "\nExamples:\n  coffer exec-file secrets/dev.yaml -- cat {}\n  coffer exec-file --output-type json secrets/app.yaml -- node app.js --config {}")
    .action(async (file: string, command: string[], options: ExecFileOptions) => {
      const keys = await createKeyRing(context, options);
      const source = await readSource(context, file, options.inputType);
      const opened = await openFile(source, keys, readOnlyOpenOptions(context, options));
      const outputStore = parseStoreName(options.outputType, '--output-type') ?? source.store;
      const content = renderDocument(opened.plain, outputStore);
      const status = await runWithFile(commandAfterSeparator(command), content, {
        fileName: options.filename ?? (file === '-' ? 'secrets' : file.split('/').pop() ?? 'secrets'),
        placeholder: options.placeholder ?? '{}',
        env: context.env,
        cwd: context.cwd,
      });
      throw new ExitSignal(status);
    });
}
