// `coffer restore FILE --at REV`: the values FILE held at REV, written today for today's recipients.
//
// The restored values are sealed under the file's *current* data key, never REV's: whoever could
// read REV's data key (a recipient revoked since) must not be able to read what is restored, and
// sealing with the current key keeps the ciphertext of every value that equals today's, so
// `coffer log` afterwards shows exactly the values the restore changed. The data key is then
// wrapped for the recipients the policy (coffer.yaml or .sops.yaml) names today. When FILE no
// longer exists, it is encrypted anew under a fresh data key for the policy's recipients.
import { existsSync, realpathSync } from 'node:fs';
import * as fs from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { collectLeaves, valueText } from '../../audit/versions.js';
import { CofferError } from '../../errors.js';
import { encryptDocument, openFile, sealFile, updateRecipients } from '../../file/secrets-file.js';
import { formatKeyPath } from '../../format/key-path.js';
import type { StoreDocument } from '../../format/tree.js';
import { openRepository, repositoryPath } from '../../git/repository.js';
import { type CliContext, writeJson } from '../context.js';
import { absolutePath, modifyFile, storeFor, writeOutput } from '../file-access.js';
import { createKeyRing, loadCommandPolicy, resolveEncryptionSettings } from '../key-setup.js';
import { addIdentityOptions, type KeyOptions } from '../options.js';

interface RestoreOptions extends KeyOptions {
  at: string;
  dryRun?: boolean;
  json?: boolean;
  config?: string;
}

export type RestoreChange = 'changed' | 'added' | 'removed';

/** Key paths whose value differs between two plaintext documents (values are compared, never printed). */
function compareDocuments(current: StoreDocument | undefined, restored: StoreDocument): { keyPath: string; change: RestoreChange }[] {
  const values = (document: StoreDocument | undefined) => {
    const map = new Map<string, string>();
    if (document) collectLeaves(document.toPlain(), (segments, value) => map.set(formatKeyPath(segments), valueText(value)));
    return map;
  };
  const before = values(current);
  const after = values(restored);
  const changes: { keyPath: string; change: RestoreChange }[] = [];
  for (const [keyPath, value] of after) {
    if (!before.has(keyPath)) changes.push({ keyPath, change: 'added' });
    else if (before.get(keyPath) !== value) changes.push({ keyPath, change: 'changed' });
  }
  for (const keyPath of before.keys()) if (!after.has(keyPath)) changes.push({ keyPath, change: 'removed' });
  return changes;
}

export function registerRestoreCommand(program: Command, context: CliContext): void {
  const command = program
    .command('restore')
    .description("bring back a file's values as they were at a past commit, encrypted for today's recipients")
    .argument('<file>', 'the secrets file')
    .requiredOption('--at <rev>', 'the commit, branch or tag whose values to restore')
    .option('--dry-run', 'list the key paths that would change (never values) and write nothing')
    .option('--json', 'machine-readable output');
  addIdentityOptions(command);
  command
    .addHelpText(
      'after',
      `
The values are sealed under the file's current data key (not the old one, which a recipient revoked
since may hold) and wrapped for the recipients the policy names today; values equal to today's keep
their ciphertext. A file deleted since is encrypted anew under a fresh data key. Needs a key that can
decrypt both versions. Written under the file lock, atomically. Commit the result as usual.

Examples:
  coffer restore secrets/prod.yaml --at HEAD~3 --dry-run
  coffer restore secrets/prod.yaml --at v1.4.0`,
    )
    .action(async (file: string, options: RestoreOptions) => {
      const absolute = absolutePath(context, file);
      let dir = dirname(absolute);
      try {
        dir = realpathSync(dir);
      } catch {
        // a deleted directory: the repository is found from the working directory
        dir = realpathSync(context.cwd);
      }
      const repository = await openRepository({ fs, dir });
      const path = repositoryPath(repository, resolve(dir, basename(absolute))) ?? repositoryPath(repository, absolute);
      if (path === undefined) throw new CofferError('USAGE', `${file} is outside the git repository ${repository.dir}`, { hints: ['name a file inside the repository'] });
      const commit = await repository.resolveRef(options.at);
      const oid = await repository.findBlob(commit, path);
      if (!oid) {
        throw new CofferError('FILE_NOT_FOUND', `${file} did not exist at ${options.at.slice(0, 60)} (${commit.slice(0, 7)})`, {
          hints: [`\`coffer log ${file}\` lists the commits that changed it, and its earlier names`],
          data: { file, rev: options.at },
        });
      }
      const policy = await loadCommandPolicy(context, options);
      const keys = await createKeyRing(context, options, policy);
      const store = storeFor(file, undefined);
      // the old version must pass its MAC: restoring tampered values would launder them
      const old = await openFile({ file, store, content: await repository.readBlob(oid) }, keys, { readOnly: true });
      const report = (changes: { keyPath: string; change: RestoreChange }[], written: boolean) => {
        if (options.json) {
          writeJson(context, { file, at: commit, dryRun: options.dryRun ?? false, written, changes });
          return;
        }
        for (const change of changes) context.stdout.write(`${change.change.padEnd(8)} ${change.keyPath}\n`);
        context.stderr.write(
          changes.length === 0
            ? `${file}: already holds the values of ${commit.slice(0, 7)}${written ? "; recipients brought to today's policy" : ''}\n`
            : `${file}: ${changes.length} key path${changes.length === 1 ? '' : 's'} ${options.dryRun ? 'would change' : 'restored'} from ${commit.slice(0, 7)}\n`,
        );
      };

      if (!existsSync(absolute)) {
        const changes = compareDocuments(undefined, old.plain);
        if (!options.dryRun) {
          const settings = await resolveEncryptionSettings(context, file, options, policy);
          const plain = old.plain.clone();
          plain.removeMetadata();
          await writeOutput(context, file, await encryptDocument(plain, file, keys, settings));
        }
        report(changes, !options.dryRun);
        return;
      }

      let changes: { keyPath: string; change: RestoreChange }[] = [];
      const written = await modifyFile(context, file, undefined, async (source) => {
        const current = await openFile(source, keys);
        changes = compareDocuments(current.plain, old.plain);
        if (options.dryRun) return undefined;
        const sealed = sealFile(current, old.plain) ?? new TextDecoder().decode(source.content);
        const plan = (await resolveEncryptionSettings(context, file, options, policy)).plan;
        const reopened = await openFile({ ...source, content: new TextEncoder().encode(sealed) }, keys);
        const rewrapped = await updateRecipients(reopened, keys, plan);
        const text = rewrapped ?? sealed;
        return text === new TextDecoder().decode(source.content) ? undefined : text;
      });
      report(changes, written);
    });
}
