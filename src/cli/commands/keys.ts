// `coffer keygen`, `coffer updatekeys` and `coffer rotate`.
import { mkdir, open } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { listRecipients, type RecipientPlan, recipientPlanOf } from '../../file/key-ring.js';
import { openFile, rotateDataKey, updateRecipients } from '../../file/secrets-file.js';
import { generateAgeIdentity } from '../../keys/age.js';
import { type CliContext, writeJson } from '../context.js';
import { addRotateDueOptions, type RotateDueOptions, runRotateDue } from './rotate-due.js';
import { absolutePath, modifyFile } from '../file-access.js';
import { listEncryptedFiles, takeInventory, unmatchedGlobError } from '../../policy/inventory.js';
import type { Policy } from '../../policy/policy-file.js';
import { createKeyRing, loadCommandPolicy, resolveRecipientPlan } from '../key-setup.js';
import { addIdentityOptions, addOutputOptions, addRecipientOptions, collect, type KeyOptions, type RecipientOptions } from '../options.js';
import { startProgress } from '../progress.js';

interface KeygenOptions {
  output?: string;
  json?: boolean;
  quiet?: boolean;
}

interface UpdateKeysOptions extends KeyOptions, RecipientOptions {
  inputType?: string;
  dryRun?: boolean;
  yes?: boolean;
  all?: boolean;
  allowUnmatched?: boolean;
}

interface RotateOptions extends KeyOptions, RotateDueOptions {
  inputType?: string;
  addAge?: string[];
  rmAge?: string[];
}

/**
 * Creates a key file exclusively with mode 0600: never overwrites an existing key. Missing parent
 * directories (such as ~/.config/sops/age) are created 0700.
 */
export async function writeNewKeyFile(path: string, shownPath: string, content: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CofferError('KEY_FILE_EXISTS', `${shownPath} already exists; refusing to overwrite a key file`, {
        hints: ['choose another path with -o, or remove the old key only if nothing is encrypted for it'],
        data: { file: shownPath },
      });
    }
    throw new CofferError('WRITE_FAILED', `cannot create ${shownPath}: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`, { cause: error });
  }
  try {
    await handle.writeFile(content);
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A new age identity as age-keygen writes it (created and public key comments), and its public key. */
export async function generateKeyFileText(): Promise<{ content: string; recipient: string }> {
  const { identity, recipient } = await generateAgeIdentity();
  return { content: `# created: ${localTimestamp(new Date())}\n# public key: ${recipient}\n${identity}\n`, recipient };
}

function localTimestamp(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  return `${local}${offset >= 0 ? '+' : '-'}${pad(offset / 60)}:${pad(offset % 60)}`;
}

export function registerKeyCommands(program: Command, context: CliContext): void {
  program
    .command('keygen')
    .description('generate an age X25519 identity (age-keygen compatible)')
    .option('-o, --output <file>', 'write the key file here (created 0600; never overwritten)')
    .option('--json', 'print {"publicKey", "file"} as JSON (the secret key only goes to the file)')
    .option('-q, --quiet', 'do not print the public key on stderr')
    .addHelpText(
      'after',
      `
Examples:
  coffer keygen -o ~/.config/sops/age/keys.txt
  coffer keygen > key.txt                 # like age-keygen (mind the file mode)`,
    )
    .action(async (options: KeygenOptions) => {
      const { content, recipient } = await generateKeyFileText();
      if (options.output === undefined || options.output === '-') {
        if (options.json) {
          throw new CofferError('USAGE', '--json needs -o FILE (the secret key is never printed as JSON)', { hints: ['coffer keygen -o key.txt --json'] });
        }
        if (!context.stdout.isTTY && !options.quiet) context.stderr.write(`Public key: ${recipient}\n`);
        context.stdout.write(content);
        return;
      }
      await writeNewKeyFile(absolutePath(context, options.output), options.output, content);
      if (options.json) writeJson(context, { publicKey: recipient, file: options.output });
      else if (!options.quiet) context.stderr.write(`Public key: ${recipient}\n`);
    });

  const updatekeys = program
    .command('updatekeys')
    .description('re-wrap the same data key for the recipients of coffer.yaml or .sops.yaml (or --age); values, lastmodified and MAC untouched')
    .argument('[files...]', 'encrypted files (or --all)')
    .option('--all', 'every encrypted file the policy governs (coffer.yaml environments, or files under .sops.yaml)')
    .option('--allow-unmatched', 'with --all: do not fail when an environment glob matches no file')
    .option('--dry-run', 'show the changes without writing')
    .option('-y, --yes', 'accepted for sops compatibility (coffer never asks)')
    .option('--input-type <store>', 'store of the files (default: from the extension)');
  addRecipientOptions(updatekeys);
  addIdentityOptions(updatekeys);
  addOutputOptions(updatekeys);
  updatekeys
    .addHelpText('after', '\nExamples:\n  coffer updatekeys secrets/*.yaml\n  coffer updatekeys --all --dry-run\n  coffer updatekeys --dry-run --json secrets/prod.yaml')
    .action(async (named: string[], options: UpdateKeysOptions) => {
      const policy = await loadCommandPolicy(context, options);
      const files = options.all ? await policyFiles(context, policy, named, options) : named;
      if (!options.all && files.length === 0) {
        throw new CofferError('USAGE', 'updatekeys needs files, or --all', { hints: ['coffer updatekeys secrets/prod.yaml', 'coffer updatekeys --all --dry-run'] });
      }
      const keys = await createKeyRing(context, options, policy);
      const results = [];
      const progress = startProgress(context, options.all ? files.length : 0, 'updatekeys', options);
      for (const file of files) {
        progress.tick(file);
        const plan = await resolveRecipientPlan(context, file, options, policy);
        let added: string[] = [];
        let removed: string[] = [];
        const changed = await modifyFile(context, file, options.inputType, async (source) => {
          const opened = await openFile(source, keys);
          const before = new Set(listRecipients(recipientPlanOf(opened.metadata)));
          const after = new Set(listRecipients(plan));
          added = [...after].filter((recipient) => !before.has(recipient));
          removed = [...before].filter((recipient) => !after.has(recipient));
          const updated = await updateRecipients(opened, keys, plan);
          return options.dryRun ? undefined : updated;
        });
        results.push({ file, changed: changed || (options.dryRun === true && (added.length > 0 || removed.length > 0)), added, removed });
        if (!options.json && !options.quiet) {
          const summary = added.length || removed.length ? `+${added.length} -${removed.length} recipients` : 'recipients already up to date';
          context.stderr.write(`${options.dryRun ? '[dry run] ' : ''}${file}: ${summary}\n`);
          for (const recipient of added) context.stderr.write(`  + ${recipient}\n`);
          for (const recipient of removed) context.stderr.write(`  - ${recipient}\n`);
        }
      }
      progress.done();
      if (options.all && !options.json && !options.quiet) {
        const changed = results.filter((result) => result.changed).length;
        context.stderr.write(`${options.dryRun ? '[dry run] ' : ''}${changed} of ${results.length} files ${options.dryRun ? 'would change' : 'updated'}\n`);
      }
      if (options.json) writeJson(context, { dryRun: options.dryRun ?? false, files: results });
    });

  const rotate = program
    .command('rotate')
    .description('generate a new data key and re-encrypt every value (after someone lost access)')
    .argument('[files...]', 'encrypted files (or --due)')
    .option('--add-age <recipients>', 'also wrap for these age recipients (comma-separated, repeatable)', collect)
    .option('--rm-age <recipients>', 'stop wrapping for these age recipients (comma-separated, repeatable)', collect)
    .option('--input-type <store>', 'store of the files (default: from the extension)');
  addRotateDueOptions(rotate);
  addIdentityOptions(rotate);
  addOutputOptions(rotate);
  rotate
    .addHelpText(
      'after',
      `
A new data key means every encrypted value changes in the diff; the plaintext values stay the same.
The new data key is wrapped for the recipients the policy (coffer.yaml or .sops.yaml) names for the
file, or for the file's own recipients when no policy covers it; --add-age/--rm-age adjust either.
Values the removed person could read must still be changed at their source.

Examples:
  coffer rotate secrets/prod.yaml
  coffer rotate --rm-age age1old... secrets/*.yaml
  coffer rotate --due --dry-run           # what is due, by environment
  coffer rotate --due                     # commit, push, open or update the pull requests`,
    )
    .action(async (files: string[], options: RotateOptions) => {
      if (options.due) return runRotateDue(context, files, options);
      if (files.length === 0) throw new CofferError('USAGE', 'rotate needs files, or --due', { hints: ['coffer rotate secrets/prod.yaml', 'coffer rotate --due --dry-run'] });
      // never rotate for real when a dry run was asked for
      if (options.dryRun) throw new CofferError('USAGE', '--dry-run goes with --due', { hints: ['coffer rotate --due --dry-run'] });
      const keys = await createKeyRing(context, options);
      const split = (lists: string[] | undefined) => (lists ?? []).flatMap((list) => list.split(',')).map((r) => r.trim()).filter(Boolean);
      const adding = split(options.addAge);
      const removing = new Set(split(options.rmAge));
      for (const file of files) {
        await modifyFile(context, file, options.inputType, async (source) => {
          const opened = await openFile(source, keys, { readOnly: true });
          const plan = await rotationPlan(context, file, options, recipientPlanOf(opened.metadata));
          const [first] = plan.groups;
          if (first && adding.length > 0) first.age = [...new Set([...first.age, ...adding])];
          for (const group of plan.groups) group.age = group.age.filter((recipient) => !removing.has(recipient));
          return rotateDataKey(opened, keys, plan);
        });
        if (!options.json && !options.quiet) context.stderr.write(`rotated the data key of ${file}\n`);
      }
      if (options.json) writeJson(context, { rotated: files });
    });
}

/**
 * The recipients a rotated file is wrapped for: the policy's when coffer.yaml or .sops.yaml governs
 * the file, so a recipient slipped into the file's metadata (which no MAC covers) does not receive
 * the new data key; the file's own recipients otherwise, as sops rotate does.
 */
async function rotationPlan(context: CliContext, file: string, options: RotateOptions, current: RecipientPlan): Promise<RecipientPlan> {
  // Recipient variables in someone's shell must not silently replace a file's readers.
  const { SOPS_AGE_RECIPIENTS: _age, SOPS_PGP_FP: _pgp, ...env } = context.env;
  let plan: RecipientPlan;
  try {
    plan = await resolveRecipientPlan({ ...context, env }, file, options);
  } catch (error) {
    if (error instanceof CofferError && error.code === 'NO_RECIPIENTS') return current;
    throw error;
  }
  const before = new Set(listRecipients(current));
  const after = new Set(listRecipients(plan));
  const dropped = [...before].filter((recipient) => !after.has(recipient));
  const added = [...after].filter((recipient) => !before.has(recipient));
  if ((dropped.length > 0 || added.length > 0) && !options.quiet && !options.json) {
    context.stderr.write(`${file}: recipients from the policy (${[`+${added.length}`, `-${dropped.length}`].join(' ')} against the file)\n`);
    for (const recipient of dropped) context.stderr.write(`  - ${recipient} (in the file, not in the policy)\n`);
    for (const recipient of added) context.stderr.write(`  + ${recipient}\n`);
  }
  return plan;
}

/** `updatekeys --all`: the files the policy governs, relative to the working directory. */
async function policyFiles(context: CliContext, policy: Policy | undefined, named: string[], options: UpdateKeysOptions): Promise<string[]> {
  if (named.length > 0) throw new CofferError('USAGE', '--all takes no file arguments', { hints: ['coffer updatekeys --all', 'or name the files without --all'] });
  if (!policy) {
    throw new CofferError('CONFIG_NOT_FOUND', '--all needs a coffer.yaml or .sops.yaml', { hints: ['`coffer init` writes a coffer.yaml', 'or name the files: coffer updatekeys FILE...'] });
  }
  let absolute: string[];
  if (policy.kind === 'coffer') {
    const inventory = await takeInventory(policy.config);
    const unmatched = unmatchedGlobError(inventory);
    if (unmatched && !options.allowUnmatched) throw unmatched;
    for (const file of inventory.files) {
      if (!file.environment) context.stderr.write(`coffer: warning: ${file.path} is encrypted but no environment claims it; left as it is\n`);
      else if (!file.current && !options.quiet) context.stderr.write(`coffer: note: ${file.path} is ${file.problem ?? 'not encrypted'}; skipped\n`);
    }
    absolute = inventory.files.filter((file) => file.environment && file.current).map((file) => file.absolute);
  } else {
    const dir = dirname(policy.config.path);
    absolute = (await listEncryptedFiles(dir)).map((path) => absolutePath(context, `${dir}/${path}`));
  }
  return absolute.map((path) => relative(context.cwd, path) || path);
}
