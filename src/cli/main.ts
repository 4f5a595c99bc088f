// The `coffer` command line: commander wiring, and the one place errors become exit codes.
//
// Start-up is most of what `coffer get` and `coffer verify` cost, so command modules load lazily.
// Each module that registers commands is one line of COMMAND_MODULES: the command names it
// registers, and a dynamic import of its register function. `coffer NAME ...` imports only the
// module registering NAME (and, through esbuild's code splitting, only that module's dependencies:
// ajv, isomorphic-git, age-encryption...); `--version` imports none; anything else (--help, help
// NAME, no command, an unknown or misspelt command) imports every module, so help and usage errors
// are as complete as ever. To add a command: add its line below (never a static import of a command module here;
// test/cli/main.test.ts checks the names match what each module registers). Inside a command module,
// import what the command always needs statically (a dynamic import there is one more module-graph
// load in turn); import dynamically only what some of its runs skip (ajv, decryption, git, zxcvbn).
import { Command, CommanderError } from 'commander';
import { CofferError, ExitCode, isCofferError } from '../errors.js';
import { VERSION } from '../version.js';
import { type CliContext, nodeCliContext } from './context.js';

type RegisterCommands = (program: Command, context: CliContext) => void;

/** One line per command module, in the order `coffer --help` lists them. */
export const COMMAND_MODULES: readonly { names: readonly string[]; load: () => Promise<RegisterCommands> }[] = [
  { names: ['keygen', 'updatekeys', 'rotate'], load: () => import('./commands/keys.js').then((module) => module.registerKeyCommands) },
  { names: ['encrypt', 'decrypt'], load: () => import('./commands/encrypt.js').then((module) => module.registerEncryptCommands) },
  { names: ['get', 'set', 'unset'], load: () => import('./commands/values.js').then((module) => module.registerValueCommands) },
  { names: ['edit'], load: () => import('./commands/edit.js').then((module) => module.registerEditCommand) },
  { names: ['exec', 'exec-file'], load: () => import('./commands/exec.js').then((module) => module.registerExecCommands) },
  { names: ['init'], load: () => import('./commands/init.js').then((module) => module.registerInitCommand) },
  { names: ['access'], load: () => import('./commands/access.js').then((module) => module.registerAccessCommand) },
  { names: ['explain'], load: () => import('./commands/explain.js').then((module) => module.registerExplainCommand) },
  { names: ['revoke'], load: () => import('./commands/revoke.js').then((module) => module.registerRevokeCommand) },
  { names: ['verify'], load: () => import('./commands/verify.js').then((module) => module.registerVerifyCommand) },
  { names: ['generate'], load: () => import('./commands/generate.js').then((module) => module.registerGenerateCommand) },
  { names: ['hook'], load: () => import('./commands/hook.js').then((module) => module.registerHookCommand) },
  { names: ['log'], load: () => import('./commands/log.js').then((module) => module.registerLogCommand) },
  { names: ['blame'], load: () => import('./commands/blame.js').then((module) => module.registerBlameCommand) },
  { names: ['status'], load: () => import('./commands/status.js').then((module) => module.registerStatusCommand) },
  { names: ['audit'], load: () => import('./commands/audit.js').then((module) => module.registerAuditCommand) },
  { names: ['report'], load: () => import('./commands/report.js').then((module) => module.registerReportCommand) },
  { names: ['restore'], load: () => import('./commands/restore.js').then((module) => module.registerRestoreCommand) },
  { names: ['diff-driver', 'merge-driver', 'git-setup'], load: () => import('./commands/git-drivers.js').then((module) => module.registerGitDriverCommands) },
  { names: ['import'], load: () => import('./commands/import.js').then((module) => module.registerImportCommand) },
  { names: ['export'], load: () => import('./commands/export.js').then((module) => module.registerExportCommand) },
  { names: ['doctor'], load: () => import('./commands/doctor.js').then((module) => module.registerDoctorCommand) },
  { names: ['stats'], load: () => import('./commands/stats.js').then((module) => module.registerStatsCommand) },
  { names: ['types'], load: () => import('./commands/types.js').then((module) => module.registerTypesCommand) },
  { names: ['completion'], load: () => import('./commands/completion.js').then((module) => module.registerCompletionCommand) },
];

/** The register functions `argv` needs: only its command's module when argv starts with a known command name, none for --version, else all. */
export async function loadCommandModules(argv: readonly string[]): Promise<RegisterCommands[]> {
  const name = argv[0];
  if (name === '--version' || name === '-V') return [];
  const one = name === undefined ? undefined : COMMAND_MODULES.find((module) => module.names.includes(name));
  return Promise.all((one ? [one] : COMMAND_MODULES).map((module) => module.load()));
}

export { VERSION };

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

/** The program with the given command modules registered (see loadCommandModules). */
export function buildProgram(context: CliContext, registers: readonly RegisterCommands[], json = false): Command {
  // With --json, commander's own usage errors are left to reportError, which prints them as JSON.
  const outputError = (text: string, write: (text: string) => void) => {
    if (!json) write(text);
  };
  const output = { writeOut: (text: string) => context.stdout.write(text), writeErr: (text: string) => context.stderr.write(text), outputError };
  const program: Command = new Command('coffer')
    .description('git-backed, SOPS-compatible encrypted secrets: values encrypted, keys in clear')
    .version(VERSION, '-V, --version')
    .showHelpAfterError(json ? false : '(run with --help for usage)')
    .addHelpText('after', EXIT_CODE_HELP)
    .configureOutput(output)
    .enablePositionalOptions()
    .exitOverride();
  for (const register of registers) register(program, context);
  for (const command of program.commands) {
    // a command added with addCommand() does not inherit these
    command.exitOverride().configureOutput(output);
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
  const json = wantsJson(argv);
  try {
    const program = buildProgram(context, await loadCommandModules(argv), json);
    await program.parseAsync([...argv], { from: 'user' });
    return Number(program.getOptionValue('__exitCode') ?? ExitCode.ok);
  } catch (error) {
    if (error instanceof ExitSignal) return error.exitCode;
    return reportError(context, error, json);
  }
}

/** Thrown by a command to end with a given exit code without an error message (exec's child status). */
export class ExitSignal extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
