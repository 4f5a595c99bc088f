// Reading a secrets file from disk or stdin, and writing it back under the file lock.
import { resolve } from 'node:path';
import { CofferError } from '../errors.js';
import type { SourceFile } from '../file/secrets-file.js';
import { detectStore } from '../format/stores/index.js';
import type { StoreName } from '../format/tree.js';
import { readExistingFile, removeStaleTempFiles, type WriteOptions, writeFileAtomic } from '../io/atomic-write.js';
import { withFileLock } from '../io/lock.js';
import { type CliContext, readAll } from './context.js';

const STORE_NAMES: readonly string[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];

/** Inputs above this size are refused before parsing (the stores are not built for huge files). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

export function parseStoreName(name: string | undefined, option: string): StoreName | undefined {
  if (name === undefined) return undefined;
  const normalised = name === 'env' ? 'dotenv' : name === 'yml' ? 'yaml' : name;
  if (!STORE_NAMES.includes(normalised)) {
    throw new CofferError('UNKNOWN_STORE', `unknown ${option} "${name.slice(0, 20)}"`, {
      hints: [`use ${option} yaml, json, dotenv, ini or binary`],
    });
  }
  return normalised as StoreName;
}

export function storeFor(file: string, inputType: string | undefined): StoreName {
  const explicit = parseStoreName(inputType, '--input-type');
  if (explicit) return explicit;
  if (file === '-') {
    throw new CofferError('USAGE', 'reading from stdin needs --input-type', {
      hints: ['pass --input-type yaml|json|dotenv|ini|binary'],
    });
  }
  return detectStore(file);
}

export function absolutePath(context: CliContext, file: string): string {
  return resolve(context.cwd, file);
}

export async function readSource(context: CliContext, file: string, inputType: string | undefined): Promise<SourceFile> {
  const store = storeFor(file, inputType);
  const content = file === '-' ? await readAll(context.stdin) : new Uint8Array(await readExistingFile(absolutePath(context, file)));
  if (content.length > MAX_INPUT_BYTES) {
    throw new CofferError('INPUT_TOO_LARGE', `${file}: the file is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`, { data: { file } });
  }
  return { file, store, content };
}

/**
 * Read-modify-write of one file under its lock: `change` gets the current content and returns the
 * new text, or undefined to leave the file as it is. Returns whether the file was written.
 */
export async function modifyFile(
  context: CliContext,
  file: string,
  inputType: string | undefined,
  change: (source: SourceFile) => Promise<string | Uint8Array | undefined>,
  options: WriteOptions = {},
): Promise<boolean> {
  if (file === '-') {
    throw new CofferError('USAGE', 'this command changes a file in place and cannot read stdin', { hints: ['pass a file path'] });
  }
  const path = absolutePath(context, file);
  return withFileLock(
    path,
    async () => {
      await removeStaleTempFiles(path);
      const source = await readSource(context, file, inputType);
      const updated = await change(source);
      if (updated === undefined) return false;
      await writeFileAtomic(path, updated, options);
      return true;
    },
  );
}

/** Writes command output to a file (atomically, under its lock) or to stdout. */
export async function writeOutput(context: CliContext, output: string | undefined, content: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  if (output === undefined || output === '-') {
    context.stdout.write(content);
    return;
  }
  const path = absolutePath(context, output);
  await withFileLock(path, () => writeFileAtomic(path, content, options));
}
