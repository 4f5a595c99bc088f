// Decrypted data in the formats other tools read: a .env file (docs/dotenv.md grammar), JSON,
// YAML and a Kubernetes Secret manifest. Pure: plain data in, text out.
import { stringify } from 'yaml';
import { CofferError } from '../errors.js';
import { getStore } from '../format/stores/index.js';
import { type PlainValue, type StoreDocument, TimeValue } from '../format/tree.js';
import { scalarText } from '../format/values.js';
import { formatDotenv } from '../import/dotenv.js';

export const EXPORT_FORMATS = ['env', 'json', 'yaml', 'k8s-secret'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface KubernetesSecretOptions {
  name: string;
  namespace?: string;
  /** Write `stringData` (readable) instead of base64 `data`. */
  stringData?: boolean;
}

/** Top-level scalars as strings; nested maps and lists cannot be one variable or Secret key. */
function flatEntries(value: PlainValue, file: string, format: string): [string, string][] {
  if (!(value instanceof Map)) {
    throw new CofferError('UNSUPPORTED_VALUE', `${file}: --format ${format} needs a map at the top of the file`, { hints: ['use --format json or yaml'], data: { file } });
  }
  const entries: [string, string][] = [];
  for (const [key, item] of value) {
    if (item instanceof Map || Array.isArray(item)) {
      throw new CofferError('UNSUPPORTED_VALUE', `${file}: ${key} is a ${item instanceof Map ? 'map' : 'list'}, which --format ${format} cannot hold`, {
        hints: ['use --format json or yaml for nested data'],
        data: { file, keyPath: key },
      });
    }
    entries.push([key, scalarText(item)]);
  }
  return entries;
}

function toJson(value: PlainValue): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([key, item]) => [key, toJson(item)]));
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof TimeValue) return value.text;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

/** A Kubernetes object name: lowercase DNS-1123 (the file's base name, cleaned up, by default). */
export function kubernetesName(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 253);
  return cleaned || 'secrets';
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

export function renderKubernetesSecret(value: PlainValue, file: string, options: KubernetesSecretOptions): string {
  const entries = flatEntries(value, file, 'k8s-secret');
  for (const [key] of entries) {
    if (!SECRET_KEY.test(key)) {
      throw new CofferError('UNSUPPORTED_VALUE', `${file}: "${key.slice(0, 40)}" is not a valid Secret key (letters, digits, -, _ and .)`, { data: { file, keyPath: key } });
    }
  }
  const metadata = new Map<string, string>([['name', kubernetesName(options.name)]]);
  if (options.namespace) metadata.set('namespace', kubernetesName(options.namespace));
  const body = new Map<string, unknown>([
    ['apiVersion', 'v1'],
    ['kind', 'Secret'],
    ['metadata', metadata],
    ['type', 'Opaque'],
    [options.stringData ? 'stringData' : 'data', new Map(entries.map(([key, text]) => [key, options.stringData ? text : Buffer.from(text, 'utf8').toString('base64')]))],
  ]);
  return stringify(body, { lineWidth: 0 });
}

/** Renders the decrypted document; YAML and JSON keep comments and layout when the file already is one. */
export function renderExport(plain: StoreDocument, format: ExportFormat, file: string, kubernetes: KubernetesSecretOptions): string {
  const [first = new Map()] = plain.toPlain();
  switch (format) {
    case 'env':
      return formatDotenv(flatEntries(first, file, 'env'));
    case 'json':
      return plain.store === 'json' ? plain.serialize() : `${JSON.stringify(toJson(first), null, 2)}\n`;
    case 'yaml':
      return plain.store === 'yaml' ? plain.serialize() : getStore('yaml').fromPlain([first]).serialize();
    case 'k8s-secret':
      return renderKubernetesSecret(first, file, kubernetes);
  }
}
