// git integration: `coffer diff-driver` (textconv, or git's external diff), `coffer merge-driver`
// (key-by-key merge) and `coffer git-setup` (writes .gitattributes and the repository's git config).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Command } from 'commander';
import * as git from 'isomorphic-git';
import { readFileVersion } from '../../audit/versions.js';
import { CofferError } from '../../errors.js';
import { compareKeyPaths, mergeSecretsFile, renderTextconv } from '../../git/drivers.js';
import { openRepository } from '../../git/repository.js';
import { ExitSignal } from '../main.js';
import type { CliContext } from '../context.js';
import { absolutePath } from '../file-access.js';
import { createKeyRing, loadCommandPolicy } from '../key-setup.js';
import { addIdentityOptions, collect, type KeyOptions } from '../options.js';

const read = async (context: CliContext, file: string) => new Uint8Array(await readFile(absolutePath(context, file)));

/** Patterns .gitattributes can express (no braces, no regexes). */
function attributePatterns(globs: readonly string[]): { patterns: string[]; skipped: string[] } {
  const patterns: string[] = [];
  const skipped: string[] = [];
  for (const glob of globs) (glob.includes('{') ? skipped : patterns).push(glob);
  return { patterns, skipped };
}

export function registerGitDriverCommands(program: Command, context: CliContext): void {
  const diff = program
    .command('diff-driver')
    .description('git diff driver: key paths with changed/unchanged markers, no key needed (decrypted values with --decrypt)')
    .argument('<args...>', '--textconv FILE, or the 7 arguments git passes an external diff (path old-file old-hex old-mode new-file new-hex new-mode), or OLD NEW')
    .option('--textconv', 'print one version as diffable lines (git\'s diff.coffer.textconv)')
    .option('--decrypt', 'show decrypted values (needs a key; opt-in: values end up in your terminal and pager)');
  addIdentityOptions(diff);
  diff.action(async (args: string[], options: KeyOptions & { textconv?: boolean; decrypt?: boolean }) => {
    const keys = options.decrypt || context.env['COFFER_DIFF_DECRYPT'] === '1' ? await createKeyRing(context, options) : undefined;
    if (options.textconv) {
      const [file] = args;
      context.stdout.write(await renderTextconv(file!, await read(context, file!), keys));
      return;
    }
    const [path, oldFile, newFile] = args.length >= 7 ? [args[0]!, args[1]!, args[4]!] : [args[1] ?? args[0]!, args[0]!, args[1]!];
    if (!oldFile || !newFile) throw new CofferError('USAGE', 'diff-driver needs --textconv FILE, or OLD NEW', { hints: ['run `coffer git-setup` to register it with git'] });
    const load = async (file: string) => (file === '/dev/null' ? new Uint8Array() : read(context, file));
    const before = readFileVersion(path, await load(oldFile));
    const after = readFileVersion(path, await load(newFile));
    context.stdout.write(`coffer diff ${path}\n`);
    const marks = { unchanged: ' ', changed: '~', added: '+', removed: '-' } as const;
    for (const row of compareKeyPaths(before, after)) context.stdout.write(`${marks[row.state]} ${row.state.padEnd(9)} ${row.keyPath}\n`);
    if (before.kind === 'encrypted' && after.kind === 'encrypted' && before.recipients.join() !== after.recipients.join()) context.stdout.write('~ recipients changed\n');
  });

  const merge = program
    .command('merge-driver')
    .description('git merge driver: merges secrets files key by key and re-seals the MAC (needs a key)')
    .argument('<base>', '%O: the common ancestor')
    .argument('<ours>', '%A: our version; the result is written here')
    .argument('<theirs>', '%B: their version')
    .argument('[path]', '%P: the path in the repository');
  addIdentityOptions(merge);
  merge.action(async (baseFile: string, oursFile: string, theirsFile: string, pathName: string | undefined, options: KeyOptions) => {
    const path = pathName ?? oursFile;
    const keys = await createKeyRing(context, options).catch(() => undefined);
    const result = await mergeSecretsFile(path, await read(context, baseFile), await read(context, oursFile), await read(context, theirsFile), keys);
    if (result.status === 'merged') {
      await writeFile(absolutePath(context, oursFile), result.text);
      context.stderr.write(`coffer: merged ${path} key by key\n`);
      return;
    }
    if (result.status === 'conflict') context.stderr.write(`coffer: ${path}: conflict: ${result.keyPaths.join(', ')} changed on both branches\n`);
    else context.stderr.write(`coffer: ${path}: not merged key by key: ${result.reason}; falling back to a text merge\n`);
    // git's own conflict markers, so the usual resolution workflow applies
    try {
      execFileSync('git', ['merge-file', '-L', 'ours', '-L', 'base', '-L', 'theirs', absolutePath(context, oursFile), absolutePath(context, baseFile), absolutePath(context, theirsFile)], {
        cwd: context.cwd,
        stdio: 'ignore',
      });
    } catch {
      // non-zero: conflicts were written into the file
    }
    throw new ExitSignal(1);
  });

  const setup = program
    .command('git-setup')
    .description('register the coffer diff and merge drivers: .gitattributes lines and the repository\'s git config')
    .option('--pattern <glob>', 'files to mark (repeatable; default: the file globs of coffer.yaml environments)', collect)
    .option('--command <cmd>', 'how git should run coffer', 'coffer')
    .option('--decrypt-diff', 'show decrypted values in git diff (needs a key; values reach your pager)')
    .option('--config <file>', 'path of coffer.yaml');
  setup
    .addHelpText(
      'after',
      `
Writes (idempotently):
  .gitattributes      <glob> diff=coffer merge=coffer     (next to coffer.yaml)
  .git/config         diff.coffer.textconv = coffer diff-driver --textconv
                      merge.coffer.name    = coffer key-by-key merge
                      merge.coffer.driver  = coffer merge-driver %O %A %B %P

The same by hand:
  echo 'secrets/** diff=coffer merge=coffer' >> .gitattributes
  git config diff.coffer.textconv 'coffer diff-driver --textconv'
  git config merge.coffer.name 'coffer key-by-key merge'
  git config merge.coffer.driver 'coffer merge-driver %O %A %B %P'`,
    )
    .action(async (options: GitSetupOptions) => {
      context.stderr.write(await setupGitDrivers(context, options));
    });
}

export interface GitSetupOptions {
  pattern?: string[];
  command: string;
  decryptDiff?: boolean;
  config?: string;
}

/** Writes the .gitattributes lines and the repository's git config for the drivers; returns what it did (for stderr). */
export async function setupGitDrivers(context: CliContext, options: GitSetupOptions): Promise<string> {
  let warnings = '';
  const repository = await openRepository({ fs, dir: fs.realpathSync(context.cwd) });
  let globs = options.pattern ?? [];
  let attributesDir = repository.dir;
  if (globs.length === 0) {
    const policy = await loadCommandPolicy(context, options.config ? { config: options.config } : {});
    if (policy?.kind !== 'coffer') throw new CofferError('USAGE', 'no coffer.yaml: name the secrets files with --pattern', { hints: ["coffer git-setup --pattern 'secrets/**'"] });
    globs = policy.config.environments.flatMap((environment) => environment.files);
    attributesDir = dirname(policy.config.path);
    const regexes = policy.config.environments.filter((environment) => environment.pathRegex !== undefined).map((environment) => environment.name);
    if (regexes.length) warnings += `coffer: warning: environments ${regexes.join(', ')} use path_regex, which .gitattributes cannot express: add --pattern for them\n`;
  }
  const { patterns, skipped } = attributePatterns(globs);
  if (skipped.length) warnings += `coffer: warning: .gitattributes has no {a,b} patterns; skipped ${skipped.join(', ')} (add them with --pattern)\n`;
  const attributesPath = join(attributesDir, '.gitattributes');
  const existing = await readFile(attributesPath, 'utf8').catch(() => '');
  const lines = existing.split('\n').filter((line) => line !== '');
  const added = patterns.map((pattern) => `${pattern} diff=coffer merge=coffer`).filter((line) => !lines.includes(line));
  if (added.length) await writeFile(attributesPath, `${[...lines, ...added].join('\n')}\n`);
  const base = { fs, dir: repository.dir, gitdir: repository.gitdir };
  const settings: [string, string][] = [
    ['diff.coffer.textconv', `${options.command} diff-driver --textconv${options.decryptDiff ? ' --decrypt' : ''}`],
    ['merge.coffer.name', 'coffer key-by-key merge'],
    ['merge.coffer.driver', `${options.command} merge-driver %O %A %B %P`],
  ];
  for (const [path, value] of settings) await git.setConfig({ ...base, path, value });
  return `${warnings}${relative(context.cwd, attributesPath) || '.gitattributes'}: ${added.length ? `added ${added.length} pattern${added.length === 1 ? '' : 's'}` : 'already up to date'}\n.git/config: ${settings.map(([path]) => path).join(', ')}\n`;
}
