// `coffer export FILE --format env|json|yaml|k8s-secret`: the decrypted data, to stdout, in the
// format another tool reads.
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { EXPORT_FORMATS, type ExportFormat, renderExport } from '../../export/render.js';
import { openFile } from '../../file/secrets-file.js';
import type { CliContext } from '../context.js';
import { readSource } from '../file-access.js';
import { createKeyRing, readOnlyOpenOptions } from '../key-setup.js';
import { addIdentityOptions, addMacOption, type KeyOptions } from '../options.js';

interface ExportOptions extends KeyOptions {
  format: ExportFormat;
  inputType?: string;
  name?: string;
  namespace?: string;
  stringData?: boolean;
}

export function registerExportCommand(program: Command, context: CliContext): void {
  const command = program
    .command('export')
    .description('print the decrypted file as .env, JSON, YAML or a Kubernetes Secret manifest')
    .argument('<file>', 'encrypted file')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .option('--input-type <store>', 'store of the file (default: from the extension)')
    .option('--name <name>', 'k8s-secret: metadata.name (default: the file name without its extension)')
    .option('--namespace <namespace>', 'k8s-secret: metadata.namespace')
    .option('--string-data', 'k8s-secret: write stringData (plain text) instead of base64 data');
  addMacOption(command);
  addIdentityOptions(command);
  command
    .addHelpText(
      'after',
      `
The output is plaintext: pipe it where it is needed rather than into a file you might commit.
env and k8s-secret need a flat map of values (nested maps and lists: use json or yaml).

Examples:
  coffer export secrets/dev.yaml --format env > .env.local
  coffer export secrets/prod.yaml --format k8s-secret --name api --namespace prod | kubectl apply -f -
  coffer export secrets/app.env --format json | jq .`,
    )
    .action(async (file: string, options: ExportOptions) => {
      const source = await readSource(context, file, options.inputType);
      const keys = await createKeyRing(context, options);
      const opened = await openFile(source, keys, readOnlyOpenOptions(context, options));
      const name = options.name ?? basename(file).replace(/\.[^.]*$/, '');
      const text = renderExport(opened.plain, options.format, file, {
        name,
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.stringData ? { stringData: true } : {}),
      });
      context.stdout.write(text);
    });
}
