// `coffer revoke NAME`: offboarding in one step. Every file the recipient can read today gets a
// new data key (wrapped for the remaining readers), the recipient leaves coffer.yaml (comments
// kept), and the key paths they could read are listed: those values must change at the source.
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Command } from 'commander';
import type { RecipientPlan } from '../../file/key-ring.js';
import { openFile, rotateDataKey } from '../../file/secrets-file.js';
import { formatKeyPath } from '../../format/key-path.js';
import type { StoreDocument } from '../../format/tree.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { withFileLock } from '../../io/lock.js';
import { type CofferConfig, parseCofferConfig, planForEnvironment, recipientKey } from '../../policy/coffer-config.js';
import { type InventoryFile, keysOf, keysOfRecipient, takeInventory, unknownRecipientError } from '../../policy/inventory.js';
import { removeRecipientFromPolicy } from '../../policy/policy-edit.js';
import { requireCofferConfig } from '../../policy/policy-file.js';
import { type CliContext, note, writeJson } from '../context.js';
import { modifyFile } from '../file-access.js';
import { createKeyRing } from '../key-setup.js';
import { missingTokenError, resolveGitHubSettings } from '../../github/client.js';
import { addGitHubOptions, type GitHubCommandOptions } from '../github-remote.js';
import { addIdentityOptions, type KeyOptions } from '../options.js';
import { openOffboardingPullRequest } from './revoke-pr.js';

interface RevokeOptions extends KeyOptions, GitHubCommandOptions {
  dryRun?: boolean;
  pr?: boolean;
}

/** Key paths of the values stored encrypted (the ones a reader of the data key could see). */
function encryptedKeyPaths(document: StoreDocument): string[] {
  const paths: string[] = [];
  document.mapLeaves((leaf) => {
    if (!leaf.isComment && typeof leaf.value === 'string' && leaf.value.startsWith('ENC[')) paths.push(formatKeyPath(leaf.keyPath));
    return undefined;
  });
  return [...new Set(paths)];
}

function withoutKeys(plan: RecipientPlan, keys: ReadonlySet<string>): RecipientPlan {
  return {
    ...plan,
    groups: plan.groups.map((group) => ({
      ...group,
      age: group.age.filter((key) => !keys.has(recipientKey(key, 'age'))),
      pgp: group.pgp.filter((key) => !keys.has(recipientKey(key, 'pgp'))),
    })),
  };
}

/** The recipients a file is rotated to: its environment under the new policy, else today's minus the revoked keys. */
function planAfterRevoke(updated: CofferConfig, file: InventoryFile, keys: ReadonlySet<string>): RecipientPlan {
  const environment = file.environment && updated.environments.find((candidate) => candidate.name === file.environment!.environment.name);
  return environment ? planForEnvironment(updated, environment) : withoutKeys(file.current!, keys);
}

export function registerRevokeCommand(program: Command, context: CliContext): void {
  const command = program
    .command('revoke')
    .description('offboard a recipient: rotate the data key of every file they can read, remove them from coffer.yaml, list what they could read')
    .argument('<name>', 'a recipient of coffer.yaml')
    .option('--dry-run', 'show the files, key paths and coffer.yaml changes without writing')
    .option('--json', 'machine-readable output')
    .option('-q, --quiet', 'print only the key paths')
    .option('--pr', 'commit the changes on coffer/revoke-NAME-DATE, push it and open the offboarding pull request (GITHUB_TOKEN or --token)');
  addGitHubOptions(command);
  addIdentityOptions(command);
  command
    .addHelpText(
      'after',
      `
A new data key means an old copy of their key opens no future version of these files. It cannot
undo what they already read: change every listed value at its source (database password, API
token...), then \`coffer set\` the new values.

Examples:
  coffer revoke alice --dry-run
  coffer revoke alice --json > revoked-alice.json`,
    )
    .action(async (name: string, options: RevokeOptions) => {
      const config = await requireCofferConfig(context.cwd, { ...(options.config ? { configPath: options.config } : {}), env: context.env }, 'coffer revoke');
      if (options.pr && !options.dryRun && options.push !== false && !resolveGitHubSettings(options, context.env).token) throw missingTokenError('coffer revoke --pr');
      const recipient = config.recipients.get(name);
      if (!recipient) throw unknownRecipientError(config, name);
      const edit = removeRecipientFromPolicy(config, await readFile(config.path, 'utf8'), name);
      const updated = parseCofferConfig(edit.text, config.path, config.dir);
      const keys = keysOfRecipient(recipient);
      const inventory = await takeInventory(config);
      for (const unmatched of inventory.unmatched) {
        note(context, options.quiet, `coffer: warning: environment "${unmatched.environment}": "${unmatched.pattern}" matches no file`);
      }
      const readable = inventory.files.filter((file) => file.current !== undefined && keysOf(file.current).some((key) => keys.has(key)));
      const keyRing = await createKeyRing(context, options, { kind: 'coffer', config });
      const results: { path: string; environment: string | null; keyPaths: string[]; rotated: boolean }[] = [];
      for (const file of readable) {
        let keyPaths: string[] = [];
        const display = relative(context.cwd, file.absolute) || file.path;
        const rotated = await modifyFile(context, display, undefined, async (source) => {
          const opened = await openFile(source, keyRing, { readOnly: true });
          keyPaths = encryptedKeyPaths(opened.encrypted);
          return options.dryRun ? undefined : rotateDataKey(opened, keyRing, planAfterRevoke(updated, file, keys));
        });
        results.push({ path: file.path, environment: file.environment?.environment.name ?? null, keyPaths, rotated });
        note(context, options.quiet || options.json, `${options.dryRun ? '[dry run] would rotate' : 'rotated'} the data key of ${display}`);
      }
      if (!options.dryRun) {
        // last, so a failed rotation leaves the policy (and a rerun) as it was
        await withFileLock(config.path, () => writeFileAtomic(config.path, edit.text));
      }
      const pullRequest = options.pr && !options.dryRun ? await openOffboardingPullRequest(context, name, config, results, options) : undefined;
      if (options.json) {
        writeJson(context, { recipient: name, dryRun: options.dryRun ?? false, files: results, policyChanges: edit.changes, ...(pullRequest ? { pullRequest } : {}) });
        return;
      }
      for (const change of edit.changes) note(context, options.quiet, `${options.dryRun ? '[dry run] coffer.yaml would change' : 'coffer.yaml'}: ${change}`);
      if (results.length === 0) note(context, options.quiet, `${name} could read no current file`);
      else {
        note(context, options.quiet, `${name} could read these values; change them at their source:`);
        for (const result of results) for (const keyPath of result.keyPaths) context.stdout.write(`${result.path}: ${keyPath}\n`);
      }
    });
}
