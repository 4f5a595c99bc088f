// `coffer get`, `coffer set` and `coffer unset`: one value at a key path.
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { openFile, sealFile } from '../../file/secrets-file.js';
import { formatKeyPath, parseKeyPath, resolveKeyPath, type UserPathSegment } from '../../format/key-path.js';
import { getStore } from '../../format/stores/index.js';
import type { PathSegment, PlainValue, StoreDocument } from '../../format/tree.js';
import { readExistingFile } from '../../io/atomic-write.js';
import { type CliContext, promptHidden, readAll, writeJson } from '../context.js';
import { absolutePath, modifyFile, parseStoreName, readSource } from '../file-access.js';
import { createKeyRing, readOnlyOpenOptions } from '../key-setup.js';
import { addIdentityOptions, addMacOption, addOutputOptions, type KeyOptions } from '../options.js';
import { renderValue, toJsonValue } from '../output.js';

function resolveIn(document: StoreDocument, path: readonly UserPathSegment[]): PathSegment[] {
  return resolveKeyPath(path, (prefix) => Array.isArray(document.getValue(prefix)));
}

export function getValueAt(document: StoreDocument, path: readonly UserPathSegment[], file: string): PlainValue {
  const value = document.getValue(resolveIn(document, path));
  if (value === undefined) {
    throw new CofferError('KEY_NOT_FOUND', `${file}: no value at ${formatKeyPath(path)}`, {
      hints: [`list the keys with \`coffer decrypt ${file}\``],
      data: { file, keyPath: formatKeyPath(path) },
    });
  }
  return value;
}

interface GetOptions extends KeyOptions {
  inputType?: string;
  outputType?: string;
}

interface SetOptions extends KeyOptions {
  inputType?: string;
  value?: string;
  valueFile?: string;
  raw?: boolean;
  jsonValue?: boolean;
  generate?: boolean;
}

interface UnsetOptions extends KeyOptions {
  inputType?: string;
  ifExists?: boolean;
}

/** The new value's text: --value, --value-file, piped stdin, or a hidden prompt on a terminal. */
async function readNewValue(context: CliContext, options: SetOptions): Promise<string> {
  const given = [options.value !== undefined, options.valueFile !== undefined].filter(Boolean).length;
  if (given > 1) throw new CofferError('USAGE', '--value and --value-file cannot be used together');
  if (options.value !== undefined) return options.value;
  let text: string;
  if (options.valueFile !== undefined) {
    text = (await readExistingFile(absolutePath(context, options.valueFile))).toString('utf8');
  } else if (context.stdin.isTTY) {
    return promptHidden(context, 'value (input hidden): ');
  } else {
    text = Buffer.from(await readAll(context.stdin)).toString('utf8');
  }
  if (options.raw) return text;
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** Parses a --json-value with the JSON store, so integers stay ints and floats stay floats. */
function parseJsonValue(text: string): PlainValue {
  try {
    return getStore('json').parse(`{"value": ${text}\n}`, '--json-value').getValue(['value']) as PlainValue;
  } catch (cause) {
    throw new CofferError('USAGE', 'the value given with --json-value is not valid JSON', { cause, hints: ['quote strings: --json-value \'"text"\''] });
  }
}

export function registerValueCommands(program: Command, context: CliContext): void {
  const get = program
    .command('get')
    .description('print one decrypted value (maps and lists as YAML, or JSON with --output-type json)')
    .argument('<file>', 'encrypted file')
    .argument('<path>', 'key path: a.b.0 (\\. escapes a dot) or ["a"]["b"][0]')
    .option('--input-type <store>', 'store of the file (default: from the extension)')
    .option('--output-type <store>', 'json to print maps and lists as JSON');
  addMacOption(get);
  addIdentityOptions(get);
  addOutputOptions(get);
  get
    .addHelpText(
      'after',
      `
The value is printed exactly; a newline is added only when stdout is a terminal.

Examples:
  coffer get secrets/prod.yaml db.password
  export TOKEN="$(coffer get secrets/prod.yaml api.token)"
  coffer get secrets/prod.yaml '["servers"][0]["host"]'`,
    )
    .action(async (file: string, pathText: string, options: GetOptions) => {
      const path = parseKeyPath(pathText);
      const keys = await createKeyRing(context, options);
      const source = await readSource(context, file, options.inputType);
      const opened = await openFile(source, keys, readOnlyOpenOptions(context, options));
      const value = getValueAt(opened.plain, path, file);
      if (options.json) {
        writeJson(context, { file, path: formatKeyPath(path), value: toJsonValue(value) });
        return;
      }
      const rendered = renderValue(value, parseStoreName(options.outputType, '--output-type'));
      context.stdout.write(rendered);
      if (context.stdout.isTTY && !(typeof rendered === 'string' && rendered.endsWith('\n'))) context.stdout.write('\n');
    });

  const set = program
    .command('set')
    .description('set one value (read from stdin or a hidden prompt); only that value, lastmodified and the MAC change')
    .argument('<file>', 'encrypted file')
    .argument('<path>', 'key path; missing parents are created')
    .option('--value <value>', 'the value (visible to other users in the process list: prefer stdin)')
    .option('--value-file <file>', 'read the value from a file')
    .option('--raw', 'keep the value bytes exactly (do not drop one trailing newline)')
    .option('--json-value', 'parse the value as JSON: numbers, booleans, maps and lists')
    .option('--generate', "generate the value from the schema's x-coffer.kind (never printed)")
    .option('--input-type <store>', 'store of the file (default: from the extension)');
  addIdentityOptions(set);
  addOutputOptions(set);
  set
    .addHelpText(
      'after',
      `
Examples:
  printf %s "$NEW_PASSWORD" | coffer set secrets/prod.yaml db.password
  coffer set secrets/prod.yaml db.password            # prompts, input hidden
  coffer set secrets/dev.yaml db.port --json-value --value 5432
  coffer set secrets/dev.yaml tls.key --value-file key.pem --raw`,
    )
    .action(async (file: string, pathText: string, options: SetOptions) => {
      const path = parseKeyPath(pathText);
      const text = options.generate ? '' : await readNewValue(context, options);
      // Schemas and generators load only for --generate, so get and plain set start small.
      const generation = options.generate ? await import('./generate.js') : undefined;
      const root = generation ? await generation.loadFileSchema(context, file, options) : undefined;
      const value = options.jsonValue ? parseJsonValue(text) : text;
      const keys = await createKeyRing(context, options);
      const changed = await modifyFile(context, file, options.inputType, async (source) => {
        const opened = await openFile(source, keys);
        const modified = opened.plain.clone();
        const target = resolveIn(modified, path);
        modified.setValue(target, generation ? generation.generateFor(root, file, target, {}).value : value);
        return sealFile(opened, modified);
      });
      if (options.json) writeJson(context, { file, path: formatKeyPath(path), changed });
      else if (!options.quiet) context.stderr.write(changed ? `set ${formatKeyPath(path)} in ${file}\n` : `${file} unchanged (same value)\n`);
    });

  const unset = program
    .command('unset')
    .description('remove one value (or a whole map or list) at a key path')
    .argument('<file>', 'encrypted file')
    .argument('<path>', 'key path')
    .option('--if-exists', 'succeed without change when the path does not exist')
    .option('--input-type <store>', 'store of the file (default: from the extension)');
  addIdentityOptions(unset);
  addOutputOptions(unset);
  unset
    .addHelpText('after', '\nExamples:\n  coffer unset secrets/dev.yaml legacy.token\n  coffer unset --if-exists secrets/dev.yaml old_key')
    .action(async (file: string, pathText: string, options: UnsetOptions) => {
      const path = parseKeyPath(pathText);
      const keys = await createKeyRing(context, options);
      let found = true;
      const changed = await modifyFile(context, file, options.inputType, async (source) => {
        const opened = await openFile(source, keys);
        const modified = opened.plain.clone();
        found = modified.deleteValue(resolveIn(modified, path));
        if (!found) {
          if (options.ifExists) return undefined;
          throw new CofferError('KEY_NOT_FOUND', `${file}: no value at ${formatKeyPath(path)}`, {
            hints: ['pass --if-exists to accept a missing path'],
            data: { file, keyPath: formatKeyPath(path) },
          });
        }
        return sealFile(opened, modified);
      });
      if (options.json) writeJson(context, { file, path: formatKeyPath(path), changed, found });
      else if (!options.quiet) context.stderr.write(changed ? `removed ${formatKeyPath(path)} from ${file}\n` : `${file} unchanged (no value at ${formatKeyPath(path)})\n`);
    });
}
