// `coffer import SRC -o DEST`: move existing secrets in (.env, dotenvx, YAML, JSON, git-crypt
// working trees, SOPS files). Reads the source, writes only the encrypted DEST, atomically.
import * as fs from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, relative, sep } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { encryptDocument, rotateDataKey } from '../../file/secrets-file.js';
import { formatKeyPath } from '../../format/key-path.js';
import { effectiveSelectionRule } from '../../format/metadata.js';
import { createLeafSelector, DEFAULT_SELECTION_RULE } from '../../format/selection.js';
import { detectStore, getStore } from '../../format/stores/index.js';
import type { StoreDocument, StoreName } from '../../format/tree.js';
import { openRepository } from '../../git/repository.js';
import { parseDotenv } from '../../import/dotenv.js';
import { parseDotenvxPrivateKey, privateKeyVariable } from '../../import/dotenvx.js';
import { findCommitsWithPath } from '../../import/history.js';
import { addToGitignore } from '../../import/gitignore.js';
import { findGitCryptRule, isGitCryptLocked, listGitCryptFiles } from '../../import/git-crypt.js';
import { documentForStore, type ImportSource, looksLikeDotenvName, readImportSource } from '../../import/source.js';
import { readExistingFile } from '../../io/atomic-write.js';
import { findRepositoryRoot } from '../../verify/sources.js';
import { type CliContext, note, writeJson } from '../context.js';
import { absolutePath, MAX_INPUT_BYTES, parseStoreName, writeOutput } from '../file-access.js';
import { createKeyRing, resolveEncryptionSettings } from '../key-setup.js';
import { addIdentityOptions, addOutputOptions, addRecipientOptions, type KeyOptions, type RecipientOptions } from '../options.js';
import { askYesNo } from '../prompt.js';

interface ImportOptions extends KeyOptions, RecipientOptions {
  output?: string;
  inputType?: string;
  outputType?: string;
  dotenvxKeyFile?: string;
  gitignore?: boolean;
  checkHistory?: boolean;
  dryRun?: boolean;
  force?: boolean;
}

/** Each leaf's key path and whether the destination's rule encrypts it. */
function describeLeaves(document: StoreDocument, rule = DEFAULT_SELECTION_RULE): { keyPath: string; encrypted: boolean }[] {
  const selects = createLeafSelector(rule);
  const leaves: { keyPath: string; encrypted: boolean }[] = [];
  document.mapLeaves((leaf) => {
    if (!leaf.isComment) leaves.push({ keyPath: formatKeyPath(leaf.keyPath), encrypted: selects(leaf) });
    return undefined;
  });
  return leaves;
}

function destinationStore(dest: string, outputType: string | undefined): StoreName {
  const explicit = parseStoreName(outputType, '--output-type');
  if (explicit) return explicit;
  if (looksLikeDotenvName(dest)) return 'dotenv';
  const store = detectStore(dest);
  if (store === 'binary') throw new CofferError('USAGE', `${dest}: cannot tell the store from the name`, { hints: ['name it .yaml, .json or .env, or pass --output-type'] });
  return store;
}

/** The dotenvx private key: --dotenvx-key-file, DOTENV_PRIVATE_KEY[_ENV], or .env.keys beside the source. */
async function findDotenvxKey(context: CliContext, source: string, options: ImportOptions): Promise<Uint8Array | undefined> {
  const variable = privateKeyVariable(basename(source));
  const fromEnv = context.env[variable];
  if (fromEnv) return parseDotenvxPrivateKey(fromEnv.split(',')[0] ?? '', variable);
  const keysFile = options.dotenvxKeyFile ? absolutePath(context, options.dotenvxKeyFile) : `${dirname(absolutePath(context, source))}${sep}.env.keys`;
  const text = await fs.promises.readFile(keysFile, 'utf8').catch(() => undefined);
  if (text === undefined) {
    if (options.dotenvxKeyFile) throw new CofferError('FILE_NOT_FOUND', `${options.dotenvxKeyFile}: no such file`, { data: { file: options.dotenvxKeyFile } });
    return undefined;
  }
  const entry = parseDotenv(text, keysFile).entries.find((candidate) => candidate.key === variable);
  return entry ? parseDotenvxPrivateKey(entry.value, `${keysFile}: ${variable}`) : undefined;
}

async function encryptImport(context: CliContext, imported: ImportSource, dest: string, store: StoreName, options: ImportOptions): Promise<string> {
  const settings = await resolveEncryptionSettings(context, dest, options);
  const keys = await createKeyRing(context, options);
  if (imported.opened) {
    // keep the data (and its rules) and re-wrap for the policy: a new data key, as rotate does
    if (imported.opened.store === store) return rotateDataKey(imported.opened, keys, settings.plan);
    return encryptDocument(getStore(store).fromPlain(imported.opened.plain.toPlain()), dest, keys, { ...settings, selectionRule: imported.opened.metadata.storedSelectionRule ?? settings.selectionRule ?? DEFAULT_SELECTION_RULE });
  }
  return encryptDocument(documentForStore(imported.document as StoreDocument, store), dest, keys, settings);
}

async function reportGitCryptDirectory(context: CliContext, dir: string, options: ImportOptions): Promise<void> {
  const files = await listGitCryptFiles(absolutePath(context, dir));
  if (options.json) {
    writeJson(context, { gitCrypt: files.map((file) => ({ path: file.path, locked: file.locked, attributes: `${file.rule.attributesFile}:${file.rule.line}` })) });
    return;
  }
  if (files.length === 0) {
    context.stdout.write(`${dir}: no file is encrypted by git-crypt (no filter=git-crypt in .gitattributes)\n`);
    return;
  }
  context.stdout.write(`git-crypt encrypts ${files.length} file${files.length === 1 ? '' : 's'} under ${dir}:\n`);
  for (const file of files) {
    context.stdout.write(`  ${file.path}  (${file.rule.attributesFile}:${file.rule.line} ${file.rule.pattern})${file.locked ? '  LOCKED: run `git-crypt unlock` first' : ''}\n`);
  }
  context.stdout.write('import each one: coffer import FILE -o FILE.enc.yaml, then remove its filter=git-crypt line from .gitattributes\n');
}

export function registerImportCommand(program: Command, context: CliContext): void {
  const command = program
    .command('import')
    .description('encrypt existing secrets into a coffer file: .env, dotenvx, YAML, JSON, git-crypt working trees, SOPS files')
    .argument('<source>', 'the file to import (a directory: list the files git-crypt encrypts there)')
    .option('-o, --output <dest>', 'the encrypted file to write (its name sets the store: .yaml, .json, .env)')
    .option('--input-type <store>', 'format of the source: dotenv, yaml or json (default: from the name)')
    .option('--output-type <store>', 'store of DEST: yaml, json or dotenv (default: from its name)')
    .option('--dotenvx-key-file <file>', 'the dotenvx .env.keys file (default: DOTENV_PRIVATE_KEY*, else .env.keys beside the source)')
    .option('--gitignore', 'add the plaintext source to .gitignore (asked on a terminal)')
    .option('--no-gitignore', 'do not add the source to .gitignore and do not ask')
    .option('--check-history', 'list the commits that contain the plaintext source (asked on a terminal)')
    .option('--dry-run', 'show which key paths would be encrypted, write nothing')
    .option('--force', 'replace DEST if it exists');
  addRecipientOptions(command);
  addIdentityOptions(command);
  addOutputOptions(command);
  command
    .addHelpText(
      'after',
      `
Recipients come from coffer.yaml (the environment that claims DEST), else .sops.yaml, or --age.
A SOPS source keeps its data and gets a new data key wrapped for those recipients.
The source is only read: delete it yourself once the encrypted file is committed.

Examples:
  coffer import .env -o secrets/dev.env --gitignore
  coffer import config/prod.json -o secrets/prod.yaml
  coffer import .env.production --dotenvx-key-file .env.keys -o secrets/prod.env
  coffer import old/sops-file.yaml -o secrets/app.yaml      # re-wrap for coffer.yaml
  coffer import .                                            # which files does git-crypt encrypt?`,
    )
    .action(async (source: string, options: ImportOptions) => {
      const sourcePath = absolutePath(context, source);
      const info = await stat(sourcePath).catch(() => undefined);
      if (info?.isDirectory()) {
        await reportGitCryptDirectory(context, source, options);
        return;
      }
      if (!options.output) throw new CofferError('USAGE', 'import needs -o DEST, the encrypted file to write', { hints: [`coffer import ${source.slice(0, 60)} -o secrets/app.yaml`] });
      const dest = options.output;
      const destPath = absolutePath(context, dest);
      const store = destinationStore(dest, options.outputType);
      const content = new Uint8Array(await readExistingFile(sourcePath));
      if (content.length > MAX_INPUT_BYTES) throw new CofferError('INPUT_TOO_LARGE', `${source}: the file is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`, { data: { file: source } });
      const gitCrypt = await findGitCryptRule(sourcePath);
      if (isGitCryptLocked(content)) {
        throw new CofferError('FILE_UNREADABLE', `${source}: the file is encrypted by git-crypt (the working tree is locked)`, {
          hints: ['run `git-crypt unlock` first, then import again'],
          data: { file: source },
        });
      }
      const imported = await readImportSource(source, content, {
        ...(options.inputType ? { inputType: parseStoreName(options.inputType, '--input-type') as StoreName } : {}),
        keys: () => createKeyRing(context, options),
        dotenvxKey: () => findDotenvxKey(context, source, options),
      });
      for (const warning of imported.warnings) note(context, options.quiet, `coffer: warning: ${warning}`);
      if (destPath !== sourcePath && !options.force && (await stat(destPath).catch(() => undefined))) {
        throw new CofferError('USAGE', `${dest} already exists`, { hints: ['choose another -o DEST, or pass --force to replace it'], data: { file: dest } });
      }
      if (destPath === sourcePath && !imported.opened) {
        throw new CofferError('USAGE', `${dest}: DEST is the plaintext source; write the encrypted file elsewhere`, { hints: ['coffer encrypt --in-place encrypts a file where it is'] });
      }

      const settings = await resolveEncryptionSettings(context, dest, options);
      const plain = imported.opened?.plain ?? (imported.document as StoreDocument);
      const leaves = describeLeaves(plain, imported.opened ? effectiveSelectionRule(imported.opened.metadata) : settings.selectionRule);
      const summary = {
        source,
        kind: imported.kind,
        output: dest,
        store,
        ...(gitCrypt ? { gitCrypt: `${gitCrypt.attributesFile}:${gitCrypt.line}` } : {}),
        keyPaths: leaves.filter((leaf) => leaf.encrypted).map((leaf) => leaf.keyPath),
        inClear: leaves.filter((leaf) => !leaf.encrypted).map((leaf) => leaf.keyPath),
      };
      if (!options.json && !options.quiet) {
        const origin = gitCrypt ? `${imported.kind}, git-crypt via ${gitCrypt.attributesFile}:${gitCrypt.line}` : imported.kind;
        context.stderr.write(`${options.dryRun ? 'would import' : 'importing'} ${source} (${origin}) into ${dest}: ${summary.keyPaths.length} value${summary.keyPaths.length === 1 ? '' : 's'} encrypted\n`);
        for (const keyPath of summary.keyPaths) context.stderr.write(`  ${keyPath}\n`);
        for (const keyPath of summary.inClear) context.stderr.write(`  ${keyPath}  (left in clear by the rule)\n`);
      }
      if (options.dryRun) {
        if (options.json) writeJson(context, { ...summary, dryRun: true });
        return;
      }
      const encrypted = await encryptImport(context, imported, dest, store, options);
      await mkdir(dirname(destPath), { recursive: true });
      await writeOutput(context, dest, encrypted);
      const plaintextSource = !imported.opened && imported.kind !== 'dotenvx';
      const root = findRepositoryRoot(dirname(sourcePath)) ?? context.cwd;
      const interactive = Boolean(context.stdin.isTTY && context.stderr.isTTY) && !options.json;
      let ignored = false;
      const relativeSource = relative(root, sourcePath).split(sep).join('/');
      if (plaintextSource && !relativeSource.startsWith('..')) {
        const wanted = options.gitignore ?? (interactive ? await askYesNo(context, `add ${relativeSource} to .gitignore?`) : false);
        if (wanted) ignored = await addToGitignore(root, relativeSource);
      }
      let commits: { oid: string; date: string }[] | undefined;
      const inRepository = findRepositoryRoot(dirname(sourcePath)) !== undefined;
      if (plaintextSource && inRepository) {
        const wanted = options.checkHistory ?? (interactive ? await askYesNo(context, `check the git history for ${relativeSource}?`) : false);
        if (wanted) {
          const repository = await openRepository({ fs, dir: root });
          const found = await findCommitsWithPath(repository, relativeSource);
          commits = found.map((commit) => ({ oid: commit.oid, date: new Date(commit.committer.timestamp * 1000).toISOString() }));
        }
      }
      if (options.json) {
        writeJson(context, { ...summary, gitignored: ignored, ...(commits ? { commitsWithSource: commits } : {}) });
        return;
      }
      if (ignored) note(context, options.quiet, `added ${relativeSource} to ${root === context.cwd ? '' : `${relative(context.cwd, root) || '.'}/`}.gitignore`);
      if (commits && commits.length > 0) {
        context.stderr.write(
          `coffer: warning: ${relativeSource} is in ${commits.length} commit${commits.length === 1 ? '' : 's'} (first ${commits[0]?.oid.slice(0, 7)}): its values are in the git history\n  hint: change those secrets at their source; rewriting history does not un-leak them\n`,
        );
      } else if (commits) note(context, options.quiet, `${relativeSource} is in no commit`);
      if (gitCrypt) note(context, options.quiet, `remove the filter=git-crypt line for ${relativeSource} from ${gitCrypt.attributesFile}:${gitCrypt.line} once ${dest} is committed`);
      if (plaintextSource) note(context, options.quiet, `wrote ${dest}; ${source} was only read: delete it once ${dest} is committed`);
      else note(context, options.quiet, `wrote ${dest}`);
    });
}
