// The dotenv store, with exactly SOPS's grammar: each non-empty line is `#comment` or KEY=VALUE
// split at the first `=` (no trimming, no quotes); `\n` in values is a newline. Metadata is
// flattened into `sops_` keys, sorted and appended after the data.
import { CofferError } from '../../errors.js';
import type { LeafVisitor, PathSegment, PlainMap, PlainValue, ScalarValue, StoreDocument } from '../tree.js';
import { CommentStack } from './comment-stack.js';
import { flattenMetadata, unflattenMetadata } from '../flatten.js';
import { parseError, unsupportedValue } from './parse-error.js';
import { clonePlain, invalidPath, isScalar, scalarText } from './plain.js';

const PREFIX = 'sops_';

type DotenvEntry = { kind: 'comment'; text: string } | { kind: 'pair'; key: string; value: ScalarValue };

function checkKey(key: string): void {
  if (key.startsWith(PREFIX)) {
    throw new CofferError('UNSUPPORTED_VALUE', `dotenv key ${key} starts with ${PREFIX}, which is reserved for the metadata`, {
      data: { key },
      hints: ['rename the key'],
    });
  }
  if (key.includes('=') || key.includes('\n') || key.startsWith('#')) {
    throw unsupportedValue(`dotenv key ${JSON.stringify(key)} cannot be written (it holds '=', a newline or starts with '#')`, { key });
  }
}

function formatValue(value: ScalarValue): string {
  return scalarText(value).replaceAll('\n', '\\n');
}

export class DotenvDocument implements StoreDocument {
  readonly store = 'dotenv' as const;

  private constructor(
    private entries: DotenvEntry[],
    private metadata: Map<string, string> | undefined,
  ) {}

  static parse(text: string, file?: string): DotenvDocument {
    const entries: DotenvEntry[] = [];
    const metadata = new Map<string, string>();
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      if (line.length === 0) return;
      if (line.startsWith('#')) {
        entries.push({ kind: 'comment', text: line.slice(1) });
        return;
      }
      const equals = line.indexOf('=');
      if (equals < 0) throw parseError(file, index + 1, 1, "expected KEY=VALUE (no '=' on this line)");
      const key = line.slice(0, equals);
      const value = line.slice(equals + 1).replaceAll('\\n', '\n');
      if (key.startsWith(PREFIX)) metadata.set(key, value);
      else entries.push({ kind: 'pair', key, value });
    });
    return new DotenvDocument(entries, metadata.size > 0 ? metadata : undefined);
  }

  static fromPlain(documents: PlainValue[]): DotenvDocument {
    const [only] = documents;
    if (documents.length !== 1 || !(only instanceof Map)) throw unsupportedValue('a dotenv file holds exactly one map');
    const entries: DotenvEntry[] = [];
    for (const [key, value] of only) {
      checkKey(key);
      if (!isScalar(value)) throw unsupportedValue(`dotenv value ${key} must be a scalar (dotenv files cannot nest)`, { key });
      scalarText(value);
      entries.push({ kind: 'pair', key, value });
    }
    return new DotenvDocument(entries, undefined);
  }

  mapLeaves(visit: LeafVisitor): void {
    const stack = new CommentStack();
    for (const entry of this.entries) {
      if (entry.kind === 'comment') {
        const replacement = visit({ keyPath: [], value: entry.text, isComment: true, commentStack: stack.snapshot() });
        if (replacement !== undefined) entry.text = scalarText(replacement).replace(/\r?\n/g, ' ');
        stack.push(entry.text);
      } else {
        const replacement = visit({ keyPath: [entry.key], value: entry.value, isComment: false, commentStack: stack.snapshot() });
        if (replacement !== undefined) entry.value = replacement;
        stack.clear();
      }
    }
  }

  readMetadata(): PlainMap | undefined {
    return this.metadata && unflattenMetadata(this.metadata, PREFIX);
  }

  writeMetadata(metadata: PlainMap): void {
    for (const entry of this.entries) if (entry.kind === 'pair') checkKey(entry.key);
    this.metadata = flattenMetadata(metadata, PREFIX);
  }

  removeMetadata(): void {
    this.metadata = undefined;
  }

  private pairOf(path: readonly PathSegment[]): Extract<DotenvEntry, { kind: 'pair' }> | undefined {
    if (path.length !== 1 || typeof path[0] !== 'string') return undefined;
    const key = path[0];
    return this.entries.find((entry): entry is Extract<DotenvEntry, { kind: 'pair' }> => entry.kind === 'pair' && entry.key === key);
  }

  getValue(path: readonly PathSegment[]): PlainValue | undefined {
    return this.pairOf(path)?.value;
  }

  setValue(path: readonly PathSegment[], value: PlainValue): void {
    const [key] = path;
    if (path.length !== 1 || typeof key !== 'string') throw invalidPath(path, 'dotenv files hold only top-level keys');
    if (!isScalar(value)) throw unsupportedValue(`dotenv value ${key} must be a scalar (dotenv files cannot nest)`, { key });
    checkKey(key);
    scalarText(value);
    const pair = this.pairOf(path);
    if (pair) pair.value = value;
    else this.entries.push({ kind: 'pair', key, value });
  }

  deleteValue(path: readonly PathSegment[]): boolean {
    const pair = this.pairOf(path);
    if (!pair) return false;
    this.entries = this.entries.filter((entry) => entry !== pair);
    return true;
  }

  toPlain(): PlainValue[] {
    const map: PlainMap = new Map();
    for (const entry of this.entries) if (entry.kind === 'pair') map.set(entry.key, clonePlain(entry.value));
    return [map];
  }

  serialize(): string {
    const lines: string[] = [];
    for (const entry of this.entries) {
      lines.push(entry.kind === 'comment' ? `#${entry.text}\n` : `${entry.key}=${formatValue(entry.value)}\n`);
    }
    if (this.metadata) for (const [key, value] of this.metadata) lines.push(`${key}=${value.replaceAll('\n', '\\n')}\n`);
    return lines.join('');
  }

  clone(): DotenvDocument {
    return new DotenvDocument(
      this.entries.map((entry) => ({ ...entry })),
      this.metadata && new Map(this.metadata),
    );
  }
}
