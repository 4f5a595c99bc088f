// `coffer hook install`: a plain git pre-commit hook that runs `coffer verify --staged`, for
// repositories that do not use the pre-commit framework (.pre-commit-hooks.yaml covers those).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { findRepositoryRoot } from '../../verify/sources.js';
import type { CliContext } from '../context.js';

const MARKER = '# installed by coffer hook install';

export interface HookOptions {
  force?: boolean;
  command?: string;
  /** Run the keyless checks only, even where the developer has a key. */
  keyless?: boolean;
}

/** What the hook runs after the command that starts coffer. */
function verifyArguments(options: HookOptions): string {
  return options.keyless ? 'verify --staged --keyless' : 'verify --staged';
}

/** The hooks directory: core.hooksPath is not read; `.git` may be a file pointing elsewhere (worktrees). */
async function hooksDirectory(top: string): Promise<string> {
  const dotGit = join(top, '.git');
  const text = await readFile(dotGit, 'utf8').catch(() => undefined);
  const gitdir = text?.startsWith('gitdir: ') ? text.slice(8).trim() : undefined;
  const dir = gitdir ? (isAbsolute(gitdir) ? gitdir : resolve(top, gitdir)) : dotGit;
  return join(dir, 'hooks');
}

function hookScript(command: string, options: HookOptions = {}): string {
  return `#!/bin/sh
${MARKER}
# Blocks a commit whose staged secrets files fail \`coffer verify\` (plaintext secrets, tampered
# files, recipients outside the policy, schema errors). Bypass once with \`git commit --no-verify\`.
exec ${command} ${verifyArguments(options)}
`;
}

export function registerHookCommand(program: Command, context: CliContext): void {
  const hook = program.command('hook').description('git hooks that run coffer verify');
  hook
    .command('install')
    .description('install a git pre-commit hook that runs `coffer verify --staged`')
    .option('--force', 'replace an existing pre-commit hook that coffer did not write')
    .option('--command <command>', 'how the hook starts coffer', 'coffer')
    .option('--keyless', 'only the checks that need no key, even where a key is at hand (every run answered from the verify cache for unchanged files; leave MACs and values to CI)')
    .addHelpText(
      'after',
      `
Without --keyless, a developer who has a key also gets the checks that decrypt (MACs, values,
strength, reuse) on every commit; those are never cached, so each commit decrypts every secrets file.
With the pre-commit framework, add the hook from .pre-commit-hooks.yaml instead (see the README).`,
    )
    .action(async (options: HookOptions) => {
      const path = await installPreCommitHook(context, options);
      context.stderr.write(`installed ${path}: every commit now runs \`${(options.command ?? 'coffer').trim()} ${verifyArguments(options)}\`\n`);
    });
}

/** Writes the pre-commit hook of the repository around `context.cwd`; returns its path. Also used by `coffer init`. */
export async function installPreCommitHook(context: CliContext, options: HookOptions = {}): Promise<string> {
  const top = findRepositoryRoot(context.cwd);
  if (!top) throw new CofferError('USAGE', `${context.cwd} is not inside a git repository`, { hints: ['run `git init` first'] });
  const dir = await hooksDirectory(top);
  const path = join(dir, 'pre-commit');
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  if (existing !== undefined && !existing.includes(MARKER) && !options.force) {
    throw new CofferError('USAGE', `${path} already exists and was not written by coffer`, {
      hints: ['add `coffer verify --staged` to it yourself, or pass --force to replace it'],
      data: { file: path },
    });
  }
  const command = (options.command ?? 'coffer').trim();
  if (command === '' || /[\n\r]/.test(command)) throw new CofferError('USAGE', '--command must be one line');
  await mkdir(dir, { recursive: true });
  await writeFile(path, hookScript(command, options));
  await chmod(path, 0o755);
  return path;
}
