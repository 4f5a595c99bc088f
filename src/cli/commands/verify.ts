// `coffer verify [PATHS]`: the check for pre-commit hooks and CI. Exit 0 clean, 3 problems found,
// 2 usage or configuration error. main.ts imports this module only for `verify` (and help), so the
// checks are imported statically: a dynamic import here would be one more module-graph load in turn.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CofferError, ExitCode } from '../../errors.js';
import { renderText, toJsonReport, toSarif } from '../../verify/render.js';
import { verifyRepository } from '../../verify/verify.js';
import type { CliContext } from '../context.js';
import { VERSION } from '../../version.js';

interface VerifyCommandOptions {
  staged?: boolean;
  json?: boolean;
  format?: string;
  keyless?: boolean;
  keys?: boolean;
  identity?: string[];
  config?: string;
  quiet?: boolean;
  cache?: boolean;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Whether an age identity is configured at all; without one verify runs keyless without trying gpg. */
async function hasIdentity(context: CliContext, options: VerifyCommandOptions): Promise<boolean> {
  const env = context.env;
  if ((options.identity ?? []).length > 0 || env['SOPS_AGE_KEY'] || env['SOPS_AGE_KEY_CMD']) return true;
  const keyFile = env['SOPS_AGE_KEY_FILE'];
  // resolved here, not with file-access.ts: that module loads file locking and atomic writes, which verify never uses
  if (keyFile && existsSync(resolve(context.cwd, keyFile))) return true;
  // imported only when keys may be used (--keyless, pre-commit's usual case, never gets here); from
  // identity-sources.ts, which reads no key: identities.ts would load age-encryption for a path
  const { defaultAgeKeyFile } = await import('../../keys/identity-sources.js');
  const fallback = defaultAgeKeyFile({ env, platform: process.platform, homedir: env['HOME'] ?? '' });
  return fallback !== undefined && existsSync(fallback);
}

export function registerVerifyCommand(program: Command, context: CliContext): void {
  program
    .command('verify')
    .description('check every secrets file against the policy and its schema (for pre-commit hooks and CI)')
    .argument('[paths...]', 'files or directories to check (default: every file under the policy)')
    .option('--staged', 'check what is staged in the git index, not the working tree')
    .option('--json', 'machine-readable report on stdout')
    .option('--format <format>', 'text, json or sarif (GitHub code scanning)', 'text')
    .option('--keyless', 'never decrypt: only the checks that need no key')
    .option('--keys', 'decrypt even when no age identity is configured (tries gpg)')
    .option('--identity <file>', 'age identity file to decrypt with (repeatable)', collect)
    .option('--config <file>', 'policy file: coffer.yaml or .sops.yaml (default: searched upward)')
    .option('-q, --quiet', 'print nothing when there are no problems')
    .option('--no-cache', 'read and write no cache (also COFFER_NO_CACHE=1)')
    .addHelpText(
      'after',
      `
Keyless checks (always): every file the policy says is secret is a SOPS file, values the selection
rule covers are well-formed ENC[...] strings, metadata is well formed, recipients match the file's
environment, key names, structure and value types fit the schema, x-coffer expires/rotate.
With a key (when an age identity is configured, unless --keyless): the MAC, values against the
schema, password strength (x-coffer minStrength), values reused across key paths or environments.

Keyless results are cached per file in .git/coffer/verify-cache.json (outside git: the user cache
directory), keyed by a SHA-256 of the file's bytes, the policy file, the schema, the recipients
and coffer's version, so unchanged files are not parsed again; expiry and rotation are judged at
every run. Checks with a key are never cached. --no-cache or COFFER_NO_CACHE=1 bypasses it.

Exit codes: 0 no errors, 3 problems found, 2 usage or configuration error.

Examples:
  coffer verify
  coffer verify --staged                # what the next commit contains
  coffer verify --format sarif > coffer.sarif
  coffer verify secrets/prod --keyless`,
    )
    .action(async (paths: string[], options: VerifyCommandOptions) => {
      const format = options.json ? 'json' : (options.format ?? 'text');
      if (!['text', 'json', 'sarif'].includes(format)) {
        throw new CofferError('USAGE', `unknown --format "${format.slice(0, 20)}"`, { hints: ['use --format text, json or sarif'] });
      }
      if (options.keyless && options.keys) throw new CofferError('USAGE', '--keyless and --keys cannot be used together');
      const useKeys = !options.keyless && (options.keys || (await hasIdentity(context, options)));
      const report = await verifyRepository({
        cwd: context.cwd,
        env: context.env,
        paths,
        staged: Boolean(options.staged),
        cache: options.cache !== false,
        ...(options.config ? { configPath: options.config } : {}),
        ...(useKeys ? { keys: await (await import('../key-setup.js')).createKeyRing(context, { ...(options.identity ? { identity: options.identity } : {}), ...(options.config ? { config: options.config } : {}) }) } : {}),
      });
      const failed = report.problems.some((item) => item.severity === 'error');
      if (format === 'json') context.stdout.write(`${JSON.stringify(toJsonReport(report), null, 2)}\n`);
      else if (format === 'sarif') context.stdout.write(`${JSON.stringify(toSarif(report, VERSION), null, 2)}\n`);
      else if (!(options.quiet && report.problems.length === 0)) (failed ? context.stderr : context.stdout).write(renderText(report));
      if (failed) program.setOptionValue('__exitCode', ExitCode.integrity);
    });
}
