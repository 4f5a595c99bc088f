// `coffer encrypt` and `coffer decrypt`.
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { assertPlaintext, encryptDocument, openFile, parseDocument, type SourceFile } from '../../file/secrets-file.js';
import { parseKeyPath } from '../../format/key-path.js';
import { getStore } from '../../format/stores/index.js';
import type { StoreDocument, StoreName } from '../../format/tree.js';
import type { CliContext } from '../context.js';
import { modifyFile, parseStoreName, readSource, writeOutput } from '../file-access.js';
import { addIdentityOptions, addMacOption, addOutputOptions, addRecipientOptions, addTypeOptions, type KeyOptions, type RecipientOptions } from '../options.js';
import { createKeyRing, readOnlyOpenOptions, resolveEncryptionSettings } from '../key-setup.js';
import { renderDocument, renderValue } from '../output.js';
import { getValueAt } from './values.js';

interface EncryptOptions extends KeyOptions, RecipientOptions {
  inputType?: string;
  outputType?: string;
  output?: string;
  inPlace?: boolean;
}

interface DecryptOptions extends KeyOptions {
  inputType?: string;
  outputType?: string;
  output?: string;
  inPlace?: boolean;
  extract?: string;
}

function checkOutputTarget(options: { output?: string; inPlace?: boolean }, file: string): void {
  if (options.output !== undefined && options.inPlace) {
    throw new CofferError('USAGE', '--output and --in-place cannot be used together', { hints: ['choose one of -o FILE and --in-place'] });
  }
  if (options.inPlace && file === '-') throw new CofferError('USAGE', '--in-place needs a file, not stdin');
}

/** The plaintext document to encrypt, converted to the output store when asked. */
function plaintextDocument(source: SourceFile, outputStore: StoreName): StoreDocument {
  const document = parseDocument(source, true);
  // Checked before a store conversion, which would drop the metadata that says so.
  assertPlaintext(document, source.file);
  return outputStore === source.store ? document : getStore(outputStore).fromPlain(document.toPlain());
}

async function encryptSource(context: CliContext, source: SourceFile, options: EncryptOptions): Promise<string> {
  const outputStore = parseStoreName(options.outputType, '--output-type') ?? source.store;
  const document = plaintextDocument(source, outputStore);
  const settings = await resolveEncryptionSettings(context, source.file, options);
  const keys = await createKeyRing(context, options);
  return encryptDocument(document, source.file, keys, settings);
}

export function registerEncryptCommands(program: Command, context: CliContext): void {
  const encrypt = program
    .command('encrypt')
    .description('encrypt a plaintext file: every value under a new data key, wrapped for each recipient')
    .argument('<file>', 'plaintext file, or - for stdin (with --input-type)')
    .option('-o, --output <file>', 'write the encrypted file here (default: stdout)')
    .option('-i, --in-place', 'replace the plaintext file with its encrypted form');
  addTypeOptions(encrypt);
  addRecipientOptions(encrypt);
  addIdentityOptions(encrypt);
  addOutputOptions(encrypt);
  encrypt
    .addHelpText(
      'after',
      `
Recipients come from --age, else SOPS_AGE_RECIPIENTS, else the first matching creation rule of .sops.yaml.

Examples:
  coffer encrypt --age age1... secrets/dev.yaml > secrets/dev.enc.yaml
  coffer encrypt --in-place secrets/prod.yaml          # recipients from .sops.yaml
  cat app.env | coffer encrypt --input-type dotenv --age age1... -`,
    )
    .action(async (file: string, options: EncryptOptions) => {
      checkOutputTarget(options, file);
      if (options.inPlace) {
        await modifyFile(context, file, options.inputType, (source) => encryptSource(context, source, options));
        if (!options.quiet) context.stderr.write(`encrypted ${file} in place\n`);
        return;
      }
      const source = await readSource(context, file, options.inputType);
      await writeOutput(context, options.output, await encryptSource(context, source, options));
    });

  const decrypt = program
    .command('decrypt')
    .description('decrypt a file and print it (or one value of it with --extract)')
    .argument('<file>', 'encrypted file, or - for stdin (with --input-type)')
    .option('-o, --output <file>', 'write the plaintext here (default: stdout)')
    .option('-i, --in-place', 'replace the encrypted file with its plaintext (the plaintext lands on disk)')
    .option('--extract <path>', 'print only the value at this key path (a.b.0 or ["a"]["b"][0])');
  addTypeOptions(decrypt);
  addMacOption(decrypt);
  addIdentityOptions(decrypt);
  addOutputOptions(decrypt);
  decrypt
    .addHelpText(
      'after',
      `
Examples:
  coffer decrypt secrets/dev.yaml
  coffer decrypt --output-type json secrets/dev.yaml | jq .db
  coffer decrypt --extract db.password secrets/dev.yaml
  coffer decrypt --identity ~/keys/ci.txt secrets/prod.env`,
    )
    .action(async (file: string, options: DecryptOptions) => {
      checkOutputTarget(options, file);
      const keys = await createKeyRing(context, options);
      const render = async (source: SourceFile) => {
        const opened = await openFile(source, keys, readOnlyOpenOptions(context, options));
        const outputStore = parseStoreName(options.outputType, '--output-type');
        if (options.extract !== undefined) {
          return renderValue(getValueAt(opened.plain, parseKeyPath(options.extract), file), outputStore);
        }
        return renderDocument(opened.plain, outputStore ?? source.store);
      };
      if (options.inPlace) {
        await modifyFile(context, file, options.inputType, render, { plaintext: true });
        return;
      }
      const source = await readSource(context, file, options.inputType);
      await writeOutput(context, options.output, await render(source), { plaintext: true });
    });
}
