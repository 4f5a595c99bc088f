// `coffer doctor`: checks the set-up of this machine and repository (keys, gpg, policy, drift, git
// drivers, hook) and says what to fix. Exit 3 when a check failed, as for every check command.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import * as git from 'isomorphic-git';
import { CofferError, ExitCode } from '../../errors.js';
import { ageRecipientKey } from '../../keys/age.js';
import { discoverAgeIdentities, nodeKeySources } from '../../keys/identities.js';
import { indexRecipientKeys } from '../../policy/coffer-config.js';
import { describeAccess, listEncryptedFiles, takeInventory } from '../../policy/inventory.js';
import { findRepositoryRoot } from '../../verify/sources.js';
import { type CliContext, writeJson } from '../context.js';
import { absolutePath } from '../file-access.js';
import { loadCommandPolicy } from '../key-setup.js';
import { addIdentityOptions, addOutputOptions, type KeyOptions } from '../options.js';
import { isDecoratedTerminal } from '../progress.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  check: string;
  status: CheckStatus;
  message: string;
  /** What to run or change; present for warn and fail. */
  fix?: string;
}

const check = (name: string, status: CheckStatus, message: string, fix?: string): DoctorCheck => ({ check: name, status, message, ...(fix ? { fix } : {}) });

async function checkKeys(context: CliContext, options: KeyOptions): Promise<{ result: DoctorCheck; recipients: string[] }> {
  const sources = { ...nodeKeySources(), env: context.env, ...(context.env.HOME ? { homedir: context.env.HOME } : {}) };
  try {
    const found = await discoverAgeIdentities(sources, { identityFiles: (options.identity ?? []).map((file) => absolutePath(context, file)) });
    const recipients = found.identities.flatMap((identity) => (identity.recipient ? [identity.recipient] : []));
    if (found.identities.length === 0 && !found.identitiesForRecipient) {
      return {
        result: check('keys', 'fail', `no age identity found (looked at: ${found.tried.join('; ') || 'nothing'})`, 'coffer keygen -o ~/.config/sops/age/keys.txt, or set SOPS_AGE_KEY_FILE'),
        recipients,
      };
    }
    const shown = recipients.map((recipient) => `${recipient.slice(0, 16)}…`).join(', ');
    const count = found.identities.length;
    return { result: check('keys', 'ok', `${count} age identit${count === 1 ? 'y' : 'ies'}${shown ? ` (${shown})` : ''}${found.identitiesForRecipient ? `, plus ${['SOPS_AGE_KEY_CMD', 'SOPS_AGE_SSH_PRIVATE_KEY_CMD'].filter((name) => context.env[name] !== undefined).join(' and ')}` : ''}`), recipients };
  } catch (error) {
    if (!(error instanceof CofferError)) throw error;
    return { result: check('keys', 'fail', error.message, error.hints[0]), recipients: [] };
  }
}

async function checkGpg(context: CliContext): Promise<DoctorCheck> {
  const command = context.env.SOPS_GPG_EXEC || 'gpg';
  const version = await new Promise<string | undefined>((resolve) => {
    execFile(command, ['--version'], { timeout: 5000, env: context.env as NodeJS.ProcessEnv }, (error, stdout) => resolve(error ? undefined : String(stdout).split('\n')[0]));
  });
  return version ? check('gpg', 'ok', version) : check('gpg', 'warn', `${command} not found (needed only for PGP recipients)`, 'install gnupg, or set SOPS_GPG_EXEC');
}

async function checkPolicy(context: CliContext, options: KeyOptions, myRecipients: string[]): Promise<DoctorCheck[]> {
  let policy: Awaited<ReturnType<typeof loadCommandPolicy>>;
  try {
    policy = await loadCommandPolicy(context, options);
  } catch (error) {
    if (!(error instanceof CofferError)) throw error;
    return [check('policy', 'fail', error.message, error.hints[0] ?? 'fix coffer.yaml')];
  }
  if (!policy) return [check('policy', 'warn', 'no coffer.yaml or .sops.yaml here or above', 'coffer init')];
  if (policy.kind === 'sops') {
    const files = await listEncryptedFiles(dirname(policy.config.path));
    return [check('policy', 'ok', `.sops.yaml with ${policy.config.creationRules.length} creation rule(s); ${files.length} encrypted file(s)`)];
  }
  const { config } = policy;
  const results: DoctorCheck[] = [check('policy', 'ok', `${config.path}: ${config.environments.length} environment(s), ${config.recipients.size} recipient(s)`)];
  const index = indexRecipientKeys(config);
  // an SSH identity knows its key, not the comment coffer.yaml may give it
  const byKey = new Map([...index].map(([key, name]) => [ageRecipientKey(key), name]));
  const mine = myRecipients.map((recipient) => byKey.get(ageRecipientKey(recipient))).filter((name): name is string => name !== undefined);
  results.push(
    mine.length > 0
      ? check('access', 'ok', `you are ${[...new Set(mine)].join(', ')} in coffer.yaml`)
      : check('access', 'warn', 'none of your age identities is a recipient in coffer.yaml', 'send your public key (coffer keygen prints it) to a current recipient, who adds it and runs coffer updatekeys --all'),
  );
  const inventory = await takeInventory(config);
  const rows = inventory.files.map((file) => describeAccess(config, file, index));
  const drift = rows.filter((row) => row.status === 'drift').map((row) => row.path);
  const plaintext = rows.filter((row) => row.status === 'not-encrypted').map((row) => row.path);
  const unmanaged = rows.filter((row) => row.status === 'unmanaged').map((row) => row.path);
  const list = (paths: string[]) => `${paths.slice(0, 5).join(', ')}${paths.length > 5 ? `, and ${paths.length - 5} more` : ''}`;
  if (drift.length) results.push(check('drift', 'fail', `${drift.length} file(s) wrapped for other recipients than coffer.yaml says: ${list(drift)}`, 'coffer updatekeys --all (and coffer rotate for removed recipients)'));
  else results.push(check('drift', 'ok', `${rows.length - unmanaged.length - plaintext.length} file(s) match coffer.yaml`));
  if (plaintext.length) results.push(check('plaintext', 'fail', `${plaintext.length} file(s) an environment claims are not encrypted: ${list(plaintext)}`, 'coffer encrypt --in-place FILE (or coffer import FILE -o DEST)'));
  if (unmanaged.length) results.push(check('unmanaged', 'warn', `${unmanaged.length} encrypted file(s) no environment claims: ${list(unmanaged)}`, 'add them to an environment in coffer.yaml'));
  if (inventory.unmatched.length) {
    results.push(check('globs', 'warn', `${inventory.unmatched.length} environment glob(s) match no file: ${inventory.unmatched.map((item) => `${item.environment} ${item.pattern}`).join(', ')}`, 'fix the globs in coffer.yaml'));
  }
  return results;
}

async function checkGit(context: CliContext): Promise<DoctorCheck[]> {
  const root = findRepositoryRoot(context.cwd);
  if (!root) return [check('git', 'warn', 'not inside a git repository', 'git init')];
  const results: DoctorCheck[] = [];
  const value = async (path: string) => git.getConfig({ fs, dir: root, path }).catch(() => undefined) as Promise<string | undefined>;
  const textconv = await value('diff.coffer.textconv');
  const driver = await value('merge.coffer.driver');
  const attributes = await readFile(join(root, '.gitattributes'), 'utf8').catch(() => '');
  const missing = [!textconv && 'diff.coffer.textconv', !driver && 'merge.coffer.driver', !/\bdiff=coffer\b/.test(attributes) && '.gitattributes diff=coffer'].filter(Boolean);
  results.push(
    missing.length === 0
      ? check('git drivers', 'ok', 'diff and merge drivers registered')
      : check('git drivers', 'warn', `not registered: ${missing.join(', ')} (diffs show ciphertext, merges conflict on the MAC)`, 'coffer git-setup'),
  );
  const hook = await readFile(join(root, '.git', 'hooks', 'pre-commit'), 'utf8').catch(() => '');
  results.push(hook.includes('verify') && hook.includes('coffer') ? check('hook', 'ok', 'pre-commit hook runs coffer verify') : check('hook', 'warn', 'no pre-commit hook runs coffer verify', 'coffer hook install'));
  return results;
}

async function runDoctor(context: CliContext, options: KeyOptions): Promise<DoctorCheck[]> {
  const major = Number(process.versions.node.split('.')[0]);
  const node = major >= 20 ? check('node', 'ok', `node ${process.versions.node}`) : check('node', 'fail', `node ${process.versions.node} is older than 20`, 'install Node.js 20 or later');
  const keys = await checkKeys(context, options);
  return [node, keys.result, await checkGpg(context), ...(await checkPolicy(context, options, keys.recipients)), ...(await checkGit(context))];
}

export function registerDoctorCommand(program: Command, context: CliContext): void {
  const command = program.command('doctor').description('check keys, gpg, coffer.yaml, recipient drift, git drivers and hooks, and say what to fix');
  addIdentityOptions(command);
  addOutputOptions(command);
  command
    .addHelpText('after', '\nExit codes: 0 when nothing failed (warnings allowed), 3 when a check failed.\n\nExamples:\n  coffer doctor\n  coffer doctor --json | jq \'.checks[] | select(.status != "ok")\'')
    .action(async (options: KeyOptions) => {
      const checks = await runDoctor(context, options);
      const failed = checks.some((item) => item.status === 'fail');
      if (options.json) writeJson(context, { ok: !failed, checks });
      else {
        const color = isDecoratedTerminal(context, context.stdout) && context.env.NO_COLOR === undefined;
        const paint = (status: CheckStatus, text: string) => (color ? `\u001b[${status === 'ok' ? 32 : status === 'warn' ? 33 : 31}m${text}\u001b[0m` : text);
        for (const item of checks) {
          if (options.quiet && item.status === 'ok') continue;
          context.stdout.write(`${paint(item.status, item.status.toUpperCase().padEnd(4))}  ${item.check}: ${item.message}\n`);
          if (item.fix) context.stdout.write(`      fix: ${item.fix}\n`);
        }
        if (!options.quiet) context.stdout.write(failed ? 'some checks failed\n' : 'everything needed is in place\n');
      }
      if (failed) program.setOptionValue('__exitCode', ExitCode.integrity);
    });
}
