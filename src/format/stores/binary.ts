// The binary store: the whole file is one leaf `data`. Encrypted, it is the JSON file
// `{"data": "ENC[...]", "sops": {...}}` (AAD `data:`); decrypted, it is the raw bytes again.
import { CofferError } from '../../errors.js';
import type { LeafVisitor, PathSegment, PlainMap, PlainValue, ScalarValue, StoreDocument } from '../tree.js';
import { formatJsonPlain, jsonNodeToPlain, parseJsonText } from './json-syntax.js';
import { parseError } from './parse-error.js';
import { clonePlain, invalidPath, readMetadataValue } from './plain.js';

const NO_COMMENTS: readonly string[] = Object.freeze([]);
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function checkData(path: readonly PathSegment[]): void {
  if (path.length !== 1 || path[0] !== 'data') throw invalidPath(path, 'a binary file only holds the key data');
}

export class BinaryDocument implements StoreDocument {
  readonly store = 'binary' as const;

  constructor(
    private data: ScalarValue,
    private metadata: PlainValue | undefined,
  ) {}

  /** Reads the JSON form of an encrypted binary file. */
  static parse(text: string, file?: string): BinaryDocument {
    const root = jsonNodeToPlain(parseJsonText(text, file)) as PlainMap;
    const data = root.get('data');
    if (data === undefined || data instanceof Map || Array.isArray(data)) {
      throw parseError(file, 1, 1, 'an encrypted binary file is a JSON object with a string key data');
    }
    return new BinaryDocument(data, root.get('sops'));
  }

  static fromPlain(documents: PlainValue[]): BinaryDocument {
    const [only] = documents;
    const data = only instanceof Map ? only.get('data') : undefined;
    if (documents.length !== 1 || !(only instanceof Map) || data === undefined || data instanceof Map || Array.isArray(data)) {
      throw new CofferError('UNSUPPORTED_VALUE', 'a binary file holds exactly one key data with a scalar value', {
        hints: ['choose another --output-type for structured data'],
      });
    }
    return new BinaryDocument(data, undefined);
  }

  mapLeaves(visit: LeafVisitor): void {
    const replacement = visit({ keyPath: ['data'], value: this.data, isComment: false, commentStack: NO_COMMENTS });
    if (replacement !== undefined) this.data = replacement;
  }

  readMetadata(): PlainMap | undefined {
    return readMetadataValue(this.metadata);
  }

  writeMetadata(metadata: PlainMap): void {
    this.metadata = clonePlain(metadata);
  }

  removeMetadata(): void {
    this.metadata = undefined;
  }

  getValue(path: readonly PathSegment[]): PlainValue | undefined {
    return path.length === 1 && path[0] === 'data' ? clonePlain(this.data) : undefined;
  }

  setValue(path: readonly PathSegment[], value: PlainValue): void {
    checkData(path);
    if (value instanceof Map || Array.isArray(value)) {
      throw new CofferError('UNSUPPORTED_VALUE', 'a binary file holds one scalar value');
    }
    this.data = clonePlain(value) as ScalarValue;
  }

  deleteValue(path: readonly PathSegment[]): boolean {
    checkData(path);
    throw new CofferError('UNSUPPORTED_VALUE', 'the data of a binary file cannot be removed');
  }

  toPlain(): PlainValue[] {
    return [new Map([['data', clonePlain(this.data)]])];
  }

  /** The JSON form when encrypted; otherwise the data as text (use serializeBytes for raw bytes). */
  serialize(): string {
    if (this.metadata !== undefined) {
      const data = this.data instanceof Uint8Array ? utf8Decoder.decode(this.data) : this.data;
      return `${formatJsonPlain(new Map<string, PlainValue>([['data', data], ['sops', this.metadata]]), '\t')}\n`;
    }
    return this.data instanceof Uint8Array ? utf8Decoder.decode(this.data) : scalarBytesText(this.data);
  }

  /** The file's bytes: the raw data of a decrypted file, else the UTF-8 of serialize(). */
  serializeBytes(): Uint8Array {
    if (this.metadata === undefined && this.data instanceof Uint8Array) return this.data.slice();
    return utf8Encoder.encode(this.serialize());
  }

  clone(): BinaryDocument {
    return new BinaryDocument(clonePlain(this.data) as ScalarValue, this.metadata === undefined ? undefined : clonePlain(this.metadata));
  }
}

function scalarBytesText(value: ScalarValue): string {
  return value === null || value instanceof Uint8Array ? '' : String(value);
}

/** A plaintext binary file: one leaf `data` holding the raw bytes. */
export function parseBinary(bytes: Uint8Array): BinaryDocument {
  return new BinaryDocument(bytes.slice(), undefined);
}
