// `coffer types`: a .d.ts for a secrets file's schema, so `loadSecrets<Secrets>()` is typed.
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { compileUserSchema } from '../../schema/user-schema.js';
import { renderSchemaTypes } from '../../sdk/schema-types.js';
import type { CliContext } from '../context.js';
import { absolutePath, writeOutput } from '../file-access.js';
import { addIdentityOptions, type KeyOptions } from '../options.js';
import { loadFileSchema } from './generate.js';

interface TypesOptions extends KeyOptions {
  schema?: string;
  output?: string;
  name: string;
}

export function registerTypesCommand(program: Command, context: CliContext): void {
  const command = program
    .command('types')
    .description("generate TypeScript declarations from a secrets file's schema (for loadSecrets<T>)")
    .argument('[file]', 'secrets file whose coffer.yaml environment names a schema')
    .option('--schema <file>', 'read this JSON Schema file instead of the one coffer.yaml binds')
    .option('-o, --output <file>', 'write the .d.ts here (default: stdout)')
    .option('--name <name>', 'name of the generated type', 'Secrets');
  addIdentityOptions(command);
  command
    .addHelpText(
      'after',
      `
Examples:
  coffer types secrets/prod.yaml -o src/secrets.d.ts
  coffer types --schema schemas/app.schema.json --name AppSecrets

Then: const secrets = await loadSecrets<Secrets>('secrets/prod.yaml');`,
    )
    .action(async (file: string | undefined, options: TypesOptions) => {
      if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(options.name)) throw new CofferError('USAGE', '--name must be a TypeScript identifier', { hints: ['--name Secrets'] });
      let root: Record<string, unknown> | undefined;
      let source: string;
      if (options.schema) {
        const path = absolutePath(context, options.schema);
        const text = await readFile(path, 'utf8').catch(() => {
          throw new CofferError('FILE_NOT_FOUND', `${options.schema}: no such file`, { data: { file: options.schema } });
        });
        root = compileUserSchema(text, options.schema).root;
        source = options.schema;
      } else {
        if (!file) throw new CofferError('USAGE', 'types needs a secrets FILE or --schema FILE', { hints: ['coffer types secrets/prod.yaml', 'coffer types --schema schemas/app.schema.json'] });
        root = await loadFileSchema(context, file, options);
        if (!root) {
          throw new CofferError('CONFIG_NOT_FOUND', `${file}: coffer.yaml binds no schema to this file`, {
            hints: ['add `schema: schemas/NAME.json` to its environment in coffer.yaml', 'or pass --schema FILE'],
          });
        }
        source = `the schema of ${relative(context.cwd, absolutePath(context, file)) || file}`;
      }
      await writeOutput(context, options.output, renderSchemaTypes(root, options.name, source));
      if (options.output) context.stderr.write(`wrote ${options.output} (export ${options.name})\n`);
    });
}
