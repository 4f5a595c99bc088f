// `coffer edit`: the decrypted file in $VISUAL/$EDITOR, from a private temp dir that is always removed.
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { encryptDocument, openFile, sealFile, type SourceFile } from '../../file/secrets-file.js';
import { getStore, parseBinary } from '../../format/stores/index.js';
import type { StoreDocument, StoreName } from '../../format/tree.js';
import { readFileIfExists } from '../../io/atomic-write.js';
import { editInPrivateDir } from '../../io/editor.js';
import type { CliContext } from '../context.js';
import { absolutePath, modifyFile, storeFor, writeOutput } from '../file-access.js';
import { createKeyRing, resolveEncryptionSettings } from '../key-setup.js';
import { addIdentityOptions, addOutputOptions, addRecipientOptions, type KeyOptions, type RecipientOptions } from '../options.js';
import { renderDocument } from '../output.js';

interface EditOptions extends KeyOptions, RecipientOptions {
  inputType?: string;
}

const NEW_FILE_TEMPLATES: Record<StoreName, string> = {
  yaml: '# new secrets file: every value will be encrypted, keys stay readable\nexample_key: example value\n',
  json: '{\n\t"example_key": "example value"\n}\n',
  dotenv: 'EXAMPLE_KEY=example value\n',
  ini: '[section]\nexample_key = example value\n',
  binary: '',
};

/** Parses the edited text; the message (shown to the user) never quotes the text. */
function parseEdited(text: string, store: StoreName, file: string): StoreDocument {
  const document = store === 'binary' ? parseBinary(new TextEncoder().encode(text)) : getStore(store).parse(text, file);
  if (store !== 'binary' && document.readMetadata() !== undefined) {
    throw new CofferError('USAGE', `${file}: the edited file must not contain a sops entry`, { hints: ['remove the sops key and save again'] });
  }
  return document;
}

function problemIn(text: string, store: StoreName, file: string): string | undefined {
  try {
    parseEdited(text, store, file);
    return undefined;
  } catch (error) {
    return error instanceof CofferError ? error.message : 'the file could not be parsed';
  }
}

export function registerEditCommand(program: Command, context: CliContext): void {
  const edit = program
    .command('edit')
    .description('open the decrypted file in $VISUAL/$EDITOR and re-encrypt it (unchanged values keep their ciphertext)')
    .argument('<file>', 'encrypted file (a missing file is created, with recipients from .sops.yaml or --age)')
    .option('--input-type <store>', 'store of the file (default: from the extension)');
  addRecipientOptions(edit);
  addIdentityOptions(edit);
  addOutputOptions(edit);
  edit
    .addHelpText(
      'after',
      `
The plaintext lives only in a private 0700 directory (on tmpfs where available) and is removed
afterwards, also on Ctrl-C. Invalid content re-opens the editor or aborts; the file is untouched
until the edit is saved and valid. No change means no write.

Examples:
  coffer edit secrets/dev.yaml
  EDITOR="code --wait" coffer edit secrets/prod.env`,
    )
    .action(async (file: string, options: EditOptions) => {
      const store = storeFor(file, options.inputType);
      const keys = await createKeyRing(context, options);
      const exists = (await readFileIfExists(absolutePath(context, file))) !== undefined;
      const editor = (content: string | Uint8Array) =>
        editInPrivateDir({ fileName: file, content, env: context.env, onInvalid: (text) => problemIn(text, store, file) });

      const changed = await modifyFile(
        context,
        file,
        options.inputType,
        async (source: SourceFile) => {
          const opened = await openFile(source, keys);
          const edited = await editor(renderDocument(opened.plain, store));
          if (edited === undefined) return undefined;
          return sealFile(opened, parseEdited(edited, store, file));
        },
      ).catch(async (error: unknown) => {
        // A missing file is created from a template, as sops edit does.
        if (exists || !(error instanceof CofferError) || error.code !== 'FILE_NOT_FOUND') throw error;
        const settings = await resolveEncryptionSettings(context, file, options);
        const edited = await editor(NEW_FILE_TEMPLATES[store]);
        if (edited === undefined) return false;
        const text = await encryptDocument(parseEdited(edited, store, file), file, keys, settings);
        await writeOutput(context, file, text);
        return true;
      });
      if (options.json) context.stdout.write(`${JSON.stringify({ file, changed })}\n`);
      else if (!options.quiet) context.stderr.write(changed ? `saved ${file}\n` : `${file} unchanged\n`);
    });
}
