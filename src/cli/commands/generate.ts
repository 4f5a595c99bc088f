// `coffer generate FILE [PATHS]` (and `coffer set --generate`): new credentials from the kind the
// file's schema gives each key path (x-coffer.kind and .generate), written straight into the
// encrypted file. The values are never printed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { openFile, sealFile } from '../../file/secrets-file.js';
import { formatKeyPath, parseKeyPath, resolveKeyPath, type UserPathSegment } from '../../format/key-path.js';
import type { PathSegment, PlainValue } from '../../format/tree.js';
import { environmentFor, policyPath, schemaBindingFor } from '../../policy/coffer-config.js';
import { CREDENTIAL_KINDS, type CredentialKind, type GenerateParameters } from '../../schema/annotations.js';
import { generateCredential } from '../../schema/generators.js';
import { annotationAt, listAnnotatedProperties } from '../../schema/walk.js';
import { type CliContext, writeJson } from '../context.js';
import { absolutePath, modifyFile } from '../file-access.js';
import { createKeyRing, loadCommandPolicy } from '../key-setup.js';
import { addIdentityOptions, addOutputOptions, type KeyOptions } from '../options.js';

export interface GenerateOptions extends KeyOptions {
  kind?: string;
  length?: string;
  dryRun?: boolean;
}

/** The root of the schema coffer.yaml gives a file, or undefined when it has none. */
export async function loadFileSchema(context: CliContext, file: string, options: KeyOptions): Promise<Record<string, unknown> | undefined> {
  const policy = await loadCommandPolicy(context, options);
  if (policy?.kind !== 'coffer') return undefined;
  const path = policyPath(policy.config, absolutePath(context, file));
  const environment = path === undefined ? undefined : environmentFor(policy.config, path)?.environment;
  const binding = environment && schemaBindingFor(environment, path!);
  if (!binding) return undefined;
  const schemaFile = join(policy.config.dir, binding.path);
  const text = await readFile(schemaFile, 'utf8').catch(() => {
    throw new CofferError('CONFIG_INVALID', `${policy.config.path}: environment ${environment!.name}: schema ${binding.path} does not exist`, { hints: ['fix the schema: path in coffer.yaml'] });
  });
  // imported here: ajv loads only when a schema is needed, not on every `coffer set`
  const { compileUserSchema } = await import('../../schema/user-schema.js');
  return compileUserSchema(text, binding.path).root;
}

function kindFromOption(kind: string | undefined): CredentialKind | undefined {
  if (kind === undefined) return undefined;
  if (!(CREDENTIAL_KINDS as readonly string[]).includes(kind)) throw new CofferError('USAGE', `unknown --kind "${kind.slice(0, 30)}"`, { hints: [`kinds: ${CREDENTIAL_KINDS.join(', ')}`] });
  return kind as CredentialKind;
}

/** A new value for one key path: --kind wins, else the schema's annotation. */
export function generateFor(root: Record<string, unknown> | undefined, file: string, path: readonly PathSegment[], options: GenerateOptions): { value: PlainValue; kind: CredentialKind } {
  const annotation = root ? annotationAt(root, path) : undefined;
  const kind = kindFromOption(options.kind) ?? annotation?.kind;
  const where = `${file}: ${formatKeyPath(path)}`;
  if (!kind) {
    throw new CofferError('USAGE', `${where}: no credential kind to generate (the schema has no x-coffer.kind here)`, {
      hints: ['add x-coffer: { kind: password } to the schema of this key, or pass --kind password'],
    });
  }
  const parameters: GenerateParameters = { ...annotation?.generate };
  if (options.length !== undefined) parameters.length = Number(options.length);
  return { value: generateCredential(kind, parameters, where), kind };
}

function resolveIn(document: { getValue(path: readonly PathSegment[]): unknown }, path: readonly UserPathSegment[]): PathSegment[] {
  return resolveKeyPath(path, (prefix) => Array.isArray(document.getValue(prefix)));
}

export function registerGenerateCommand(program: Command, context: CliContext): void {
  const command = program
    .command('generate')
    .description("generate credentials from the file's schema (x-coffer.kind) into the encrypted file; values are never printed")
    .argument('<file>', 'encrypted file')
    .argument('[paths...]', 'key paths to (re)generate (default: every annotated key the file lacks)')
    .option('--kind <kind>', `credential kind instead of the schema's: ${CREDENTIAL_KINDS.filter((kind) => kind !== 'opaque').join(', ')}`)
    .option('--length <n>', 'length instead of the schema\'s generate.length')
    .option('--dry-run', 'list what would be generated; change nothing');
  addIdentityOptions(command);
  addOutputOptions(command);
  command
    .addHelpText('after', '\nExamples:\n  coffer generate secrets/prod.yaml\n  coffer generate secrets/prod.yaml db.password --length 40\n  coffer set secrets/prod.yaml api.token --generate')
    .action(async (file: string, pathTexts: string[], options: GenerateOptions) => {
      const root = await loadFileSchema(context, file, options);
      const keys = await createKeyRing(context, options);
      const generated: { path: string; kind: string }[] = [];
      const changed = await modifyFile(context, file, undefined, async (source) => {
        const opened = await openFile(source, keys);
        const modified = opened.plain.clone();
        const targets: PathSegment[][] = pathTexts.length
          ? pathTexts.map((text) => resolveIn(modified, parseKeyPath(text)))
          : listAnnotatedProperties(root ?? {})
              .filter(({ path, annotation }) => annotation.kind !== undefined && annotation.kind !== 'opaque' && modified.getValue(path) === undefined)
              .map(({ path }) => path);
        for (const path of targets) {
          const { value, kind } = generateFor(root, file, path, options);
          generated.push({ path: formatKeyPath(path), kind });
          if (!options.dryRun) modified.setValue(path, value);
        }
        return options.dryRun || generated.length === 0 ? undefined : sealFile(opened, modified);
      });
      if (options.json) writeJson(context, { file, generated, changed });
      else if (!options.quiet) {
        for (const item of generated) context.stderr.write(`${options.dryRun ? 'would generate' : 'generated'} ${item.path} (${item.kind}) in ${file}\n`);
        if (generated.length === 0) context.stderr.write(`${file}: nothing to generate (every annotated key has a value)\n`);
      }
    });
}
