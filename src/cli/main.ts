// The `coffer` command line: commander wiring, and the one place errors become exit codes.
import { Command, CommanderError } from 'commander';
import { CofferError, ExitCode, isCofferError } from '../errors.js';
import { registerAccessCommand } from './commands/access.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerBlameCommand } from './commands/blame.js';
import { registerEditCommand } from './commands/edit.js';
import { registerEncryptCommands } from './commands/encrypt.js';
import { registerExecCommands } from './commands/exec.js';
import { registerExplainCommand } from './commands/explain.js';
import { registerGitDriverCommands } from './commands/git-drivers.js';
import { registerInitCommand } from './commands/init.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerLogCommand } from './commands/log.js';
import { registerReportCommand } from './commands/report.js';
import { registerRevokeCommand } from './commands/revoke.js';
import { registerStatusCommand } from './commands/status.js';
import { registerValueCommands } from './commands/values.js';
import { registerVerifyCommand } from './commands/verify.js';
import { registerGenerateCommand } from './commands/generate.js';
import { registerHookCommand } from './commands/hook.js';
import { registerImportCommand } from './commands/import.js';
import { registerExportCommand } from './commands/export.js';
import { type CliContext, nodeCliContext } from './context.js';

export const VERSION = '0.1.0';

const EXIT_CODE_HELP = `
Exit codes:
  0  success
  1  the operation failed (missing file, no matching key, lock timeout...)
  2  usage or configuration error
  3  integrity problem: MAC mismatch, tampered or malformed value, plaintext where ciphertext belongs

Environment:
  SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD   age identities (as sops reads them)
  SOPS_AGE_RECIPIENTS                                 recipients for encrypt (comma-separated)
  SOPS_CONFIG                                         path of .sops.yaml (default: searched upward)`;

export function buildProgram(context: CliContext, json = false): Command {
  // With --json, commander's own usage errors are left to reportError, which prints them as JSON.
  const outputError = (text: string, write: (text: string) => void) => {
    if (!json) write(text);
  };
  const program: Command = new Command('coffer')
    .description('git-backed, SOPS-compatible encrypted secrets: values encrypted, keys in clear')
    .version(VERSION, '-V, --version')
    .showHelpAfterError(json ? false : '(run with --help for usage)')
    .addHelpText('after', EXIT_CODE_HELP)
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
      outputError,
    })
    .enablePositionalOptions()
    .exitOverride();
  registerKeyCommands(program, context);
  registerEncryptCommands(program, context);
  registerValueCommands(program, context);
  registerEditCommand(program, context);
  registerExecCommands(program, context);
  registerInitCommand(program, context);
  registerAccessCommand(program, context);
  registerExplainCommand(program, context);
  registerRevokeCommand(program, context);
  registerVerifyCommand(program, context);
  registerGenerateCommand(program, context);
  registerHookCommand(program, context);
  registerLogCommand(program, context);
  registerBlameCommand(program, context);
  registerStatusCommand(program, context);
  registerAuditCommand(program, context);
  registerReportCommand(program, context);
  registerGitDriverCommands(program, context);
  registerImportCommand(program, context);
  registerExportCommand(program, context);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
      outputError,
    });
  }
  return program;
}

function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** Prints an error the way every command does, and returns its exit code. */
export function reportError(context: CliContext, error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok;
    if (error.exitCode === 0) return ExitCode.ok;
    if (json) {
      const usage = new CofferError('USAGE', error.message.replace(/^error: /, ''), { hints: ['run the command with --help for its usage'] });
      context.stderr.write(`${JSON.stringify({ error: usage.toJSON() })}\n`);
    }
    return ExitCode.usage;
  }
  const cofferError = isCofferError(error)
    ? error
    : new CofferError('INTERNAL', `unexpected error (this is a bug in coffer, please report it): ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
  if (json) {
    context.stderr.write(`${JSON.stringify({ error: cofferError.toJSON() })}\n`);
  } else {
    context.stderr.write(`coffer: error: ${cofferError.message}\n`);
    for (const hint of cofferError.hints) context.stderr.write(`  hint: ${hint}\n`);
    if (cofferError.code === 'INTERNAL' && context.env.COFFER_DEBUG && error instanceof Error) context.stderr.write(`${error.stack}\n`);
  }
  return cofferError.exitCode;
}

/** Runs the CLI with an injected context; never calls process.exit. */
export async function runCli(argv: readonly string[], context: CliContext = nodeCliContext()): Promise<number> {
  const program = buildProgram(context, wantsJson(argv));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return Number(program.getOptionValue('__exitCode') ?? ExitCode.ok);
  } catch (error) {
    if (error instanceof ExitSignal) return error.exitCode;
    return reportError(context, error, wantsJson(argv));
  }
}

/** Thrown by a command to end with a given exit code without an error message (exec's child status). */
export class ExitSignal extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
