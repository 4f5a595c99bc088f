// What `coffer import` reads: a plain .env, YAML or JSON file, a dotenvx-encrypted .env, or an
// existing SOPS file, turned into the plaintext document (or opened SOPS file) to encrypt.
import { CofferError } from '../errors.js';
import type { KeyRing } from '../file/key-ring.js';
import { type OpenedFile, openFile } from '../file/secrets-file.js';
import { detectStore, getStore } from '../format/stores/index.js';
import type { PlainMap, StoreDocument, StoreName } from '../format/tree.js';
import { parseDotenv } from './dotenv.js';
import { decryptDotenvxValue, isDotenvxValue } from './dotenvx.js';

export type ImportKind = 'dotenv' | 'dotenvx' | 'yaml' | 'json' | 'ini' | 'sops';

export interface ImportSource {
  file: string;
  kind: ImportKind;
  /** The plaintext as a document of the source's store (plain sources). */
  document?: StoreDocument;
  /** The decrypted SOPS file (kind `sops`), to be re-wrapped. */
  opened?: OpenedFile;
  warnings: string[];
}

export interface ReadImportOptions {
  /** Forces the source format (default: from the file name and content). */
  inputType?: StoreName;
  /** For SOPS sources: the identities that open it. */
  keys: () => Promise<KeyRing>;
  /** For dotenvx sources: the private key, or undefined when none was found. */
  dotenvxKey: () => Promise<Uint8Array | undefined>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `.env`, `.env.local`, `app.env`: a dotenv source even when the extension says otherwise. */
export function looksLikeDotenvName(file: string): boolean {
  const name = file.replace(/^.*[\\/]/, '');
  return name === '.env' || name.startsWith('.env.') || name.endsWith('.env');
}

function sourceStore(file: string, inputType: StoreName | undefined): StoreName {
  const store = inputType ?? (looksLikeDotenvName(file) ? 'dotenv' : detectStore(file));
  if (store === 'binary') {
    throw new CofferError('USAGE', `${file}: cannot tell the format from the name`, {
      hints: ['pass --input-type dotenv, yaml or json'],
      data: { file },
    });
  }
  return store;
}

/** SOPS's dotenv files carry their metadata as `sops_...` keys. */
function isSopsDotenv(text: string): boolean {
  return /^sops_version=/m.test(text) && /^sops_mac=/m.test(text);
}

/** Public keys dotenvx writes next to the values: metadata, not secrets to import. */
function isDotenvxPublicKey(key: string): boolean {
  return /^DOTENV_PUBLIC_KEY(_[A-Z0-9_]+)?$/.test(key);
}

async function readDotenv(file: string, text: string, options: ReadImportOptions): Promise<ImportSource> {
  const parsed = parseDotenv(text, file);
  const warnings = parsed.duplicates.map(({ key, line }) => `${file}:${line}: ${key} is set again; the last value is imported`);
  const encrypted = parsed.entries.some((entry) => isDotenvxValue(entry.value));
  let privateKey: Uint8Array | undefined;
  if (encrypted) {
    privateKey = await options.dotenvxKey();
    if (!privateKey) {
      throw new CofferError('NO_MATCHING_IDENTITY', `${file}: the file has dotenvx-encrypted values and no private key was found`, {
        hints: ['pass --dotenvx-key-file .env.keys (or set DOTENV_PRIVATE_KEY)', 'or decrypt it first: dotenvx decrypt -f FILE --stdout | coffer import --input-type dotenv - -o DEST'],
        data: { file },
      });
    }
  }
  const map: PlainMap = new Map();
  for (const entry of parsed.entries) {
    if (encrypted && isDotenvxPublicKey(entry.key)) continue;
    const value = privateKey && isDotenvxValue(entry.value) ? decryptDotenvxValue(entry.value, privateKey, `${file}:${entry.line}: ${entry.key}`) : entry.value;
    map.set(entry.key, value);
  }
  return { file, kind: encrypted ? 'dotenvx' : 'dotenv', document: getStore('dotenv').fromPlain([map]), warnings };
}

/** Reads an import source from its bytes. */
export async function readImportSource(file: string, content: Uint8Array, options: ReadImportOptions): Promise<ImportSource> {
  let text: string;
  try {
    text = utf8.decode(content);
  } catch {
    throw new CofferError('PARSE_ERROR', `${file}: the file is not UTF-8 text`, { hints: ['coffer import reads .env, YAML and JSON files'], data: { file } });
  }
  const store = sourceStore(file, options.inputType);
  if (store === 'dotenv' && isSopsDotenv(text)) {
    return { file, kind: 'sops', opened: await openFile({ file, store, content }, await options.keys()), warnings: [] };
  }
  if (store === 'dotenv') return readDotenv(file, text, options);
  const document = getStore(store).parse(text, file);
  if (document.readMetadata() !== undefined) {
    return { file, kind: 'sops', opened: await openFile({ file, store, content }, await options.keys()), warnings: [] };
  }
  return { file, kind: store as Exclude<StoreName, 'binary' | 'dotenv'>, document, warnings: [] };
}

/** The plaintext document in the destination's store (a conversion drops comments, as SOPS does). */
export function documentForStore(document: StoreDocument, store: StoreName): StoreDocument {
  return document.store === store ? document : getStore(store).fromPlain(document.toPlain());
}
