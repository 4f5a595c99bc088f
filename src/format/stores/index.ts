// The five stores SOPS has, and how a file's extension picks one.
import type { PlainValue, StoreDocument, StoreName } from '../tree.js';
import { CofferError } from '../../errors.js';
import { BinaryDocument, parseBinary } from './binary.js';
import { DotenvDocument } from './dotenv.js';
import { IniDocument } from './ini.js';
import { JsonDocument } from './json.js';
import { YamlDocument } from './yaml.js';

export { detectStore } from './detect.js';

export interface Store {
  readonly name: StoreName;
  /** Parses a file's text. Throws CofferError PARSE_ERROR with data {file, line, column}; the message names file:line but never echoes the line's content. */
  parse(text: string, file?: string): StoreDocument;
  /** A new document of this store from plain data (one element per YAML document; other stores take exactly one map). */
  fromPlain(documents: PlainValue[]): StoreDocument;
}

const STORES: Record<StoreName, Store> = {
  yaml: { name: 'yaml', parse: (text, file) => YamlDocument.parse(text, file), fromPlain: (docs) => YamlDocument.fromPlain(docs) },
  json: { name: 'json', parse: (text, file) => JsonDocument.parse(text, file), fromPlain: (docs) => JsonDocument.fromPlain(docs) },
  dotenv: { name: 'dotenv', parse: (text, file) => DotenvDocument.parse(text, file), fromPlain: (docs) => DotenvDocument.fromPlain(docs) },
  ini: { name: 'ini', parse: (text, file) => IniDocument.parse(text, file), fromPlain: (docs) => IniDocument.fromPlain(docs) },
  binary: { name: 'binary', parse: (text, file) => BinaryDocument.parse(text, file), fromPlain: (docs) => BinaryDocument.fromPlain(docs) },
};

export function getStore(name: StoreName): Store {
  const store = STORES[name];
  if (!store) throw new CofferError('UNKNOWN_STORE', `unknown store ${String(name)}`, { hints: ['use one of yaml, json, dotenv, ini, binary'] });
  return store;
}

export { BinaryDocument, DotenvDocument, IniDocument, JsonDocument, parseBinary, YamlDocument };
