// The JSON store. An unchanged layout is kept byte for byte: edited scalars are spliced into the
// original text. Structural changes (keys added or removed, metadata written) re-serialise the
// whole file with the file's own indentation (SOPS writes one tab per level).
import type { Leaf, LeafVisitor, PathSegment, PlainMap, PlainValue, StoreDocument } from '../tree.js';
import {
  formatJsonPlain,
  formatJsonScalar,
  type JsonNode,
  type JsonObject,
  jsonNodeToPlain,
  parseJsonText,
  plainToJsonNode,
  quoteJsonString,
} from './json-syntax.js';
import { unsupportedValue } from './parse-error.js';
import { clonePlain, invalidPath, isScalar, readMetadataValue } from './plain.js';

const NO_COMMENTS: readonly string[] = Object.freeze([]);

function detectIndent(text: string): string {
  const match = /\n([ \t]+)\S/.exec(text);
  if (!match?.[1]) return '\t';
  return match[1].startsWith('\t') ? '\t' : match[1];
}

function cloneNode(node: JsonNode): JsonNode {
  if (node.kind === 'scalar') return { ...node };
  if (node.kind === 'array') return { kind: 'array', items: node.items.map(cloneNode) };
  return { kind: 'object', entries: node.entries.map((entry) => ({ key: entry.key, value: cloneNode(entry.value) })) };
}

function walkLeaves(node: JsonNode, keyPath: string[], visit: LeafVisitor): void {
  if (node.kind === 'object') {
    for (const entry of node.entries) {
      keyPath.push(entry.key);
      walkLeaves(entry.value, keyPath, visit);
      keyPath.pop();
    }
  } else if (node.kind === 'array') {
    for (const item of node.items) walkLeaves(item, keyPath, visit);
  } else {
    const leaf: Leaf = { keyPath: keyPath.slice(), value: node.value, isComment: false, commentStack: NO_COMMENTS };
    const replacement = visit(leaf);
    if (replacement !== undefined) {
      node.value = replacement;
      node.edited = true;
    }
  }
}

function collectSplices(node: JsonNode, out: JsonNode[]): void {
  if (node.kind === 'object') for (const entry of node.entries) collectSplices(entry.value, out);
  else if (node.kind === 'array') for (const item of node.items) collectSplices(item, out);
  else if (node.edited) out.push(node);
}

export class JsonDocument implements StoreDocument {
  readonly store = 'json' as const;

  private constructor(
    /** The parsed source; scalar spans point into it. */
    private readonly source: string,
    private root: JsonObject,
    private metadata: PlainValue | undefined,
    /** False once the structure no longer matches the source (then the file is re-serialised). */
    private spliceable: boolean,
    private readonly indent: string,
  ) {}

  static parse(text: string, file?: string): JsonDocument {
    const root = parseJsonText(text, file);
    let metadata: PlainValue | undefined;
    const sopsAt = root.entries.findIndex((entry) => entry.key === 'sops');
    if (sopsAt >= 0) {
      metadata = jsonNodeToPlain(root.entries[sopsAt]!.value);
      root.entries.splice(sopsAt, 1);
    }
    return new JsonDocument(text, root, metadata, true, detectIndent(text));
  }

  static fromPlain(documents: PlainValue[]): JsonDocument {
    const [only] = documents;
    if (documents.length !== 1 || !(only instanceof Map)) {
      throw unsupportedValue('a JSON file holds exactly one object');
    }
    return new JsonDocument('', plainToJsonNode(only) as JsonObject, undefined, false, '\t');
  }

  mapLeaves(visit: LeafVisitor): void {
    walkLeaves(this.root, [], visit);
  }

  readMetadata(): PlainMap | undefined {
    return readMetadataValue(this.metadata);
  }

  writeMetadata(metadata: PlainMap): void {
    this.metadata = clonePlain(metadata) as PlainMap;
    this.spliceable = false;
  }

  removeMetadata(): void {
    if (this.metadata === undefined) return;
    this.metadata = undefined;
    this.spliceable = false;
  }

  private find(path: readonly PathSegment[]): JsonNode | undefined {
    let node: JsonNode = this.root;
    for (const segment of path) {
      let next: JsonNode | undefined;
      if (typeof segment === 'string' && node.kind === 'object') {
        next = node.entries.find((entry) => entry.key === segment)?.value;
      } else if (typeof segment === 'number' && node.kind === 'array') {
        next = node.items[segment];
      }
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  getValue(path: readonly PathSegment[]): PlainValue | undefined {
    const node = this.find(path);
    return node && jsonNodeToPlain(node);
  }

  setValue(path: readonly PathSegment[], value: PlainValue): void {
    if (path.length === 0) throw invalidPath(path, 'cannot replace the whole document');
    formatJsonPlain(value, ''); // fail now (NaN, bytes) rather than when writing
    const existing = this.find(path);
    if (existing?.kind === 'scalar' && isScalar(value)) {
      existing.value = value;
      existing.edited = true;
      return;
    }
    let parent: JsonNode = this.root;
    path.forEach((segment, index) => {
      const isLast = index === path.length - 1;
      const replacement = isLast ? plainToJsonNode(clonePlain(value)) : undefined;
      if (typeof segment === 'string' && parent.kind === 'object') {
        const entry = parent.entries.find((candidate) => candidate.key === segment);
        if (replacement) {
          if (entry) entry.value = replacement;
          else parent.entries.push({ key: segment, value: replacement });
        } else if (entry) {
          parent = entry.value;
        } else {
          const created: JsonObject = { kind: 'object', entries: [] };
          parent.entries.push({ key: segment, value: created });
          parent = created;
        }
      } else if (typeof segment === 'number' && parent.kind === 'array') {
        if (segment < 0 || segment > parent.items.length) throw invalidPath(path, 'list index out of range');
        if (replacement) parent.items[segment] = replacement;
        else {
          const item = parent.items[segment];
          if (!item) throw invalidPath(path, 'list index out of range');
          parent = item;
        }
      } else {
        throw invalidPath(path, typeof segment === 'number' ? 'not a list' : 'not a map');
      }
    });
    this.spliceable = false;
  }

  deleteValue(path: readonly PathSegment[]): boolean {
    if (path.length === 0) return false;
    const parent = this.find(path.slice(0, -1));
    const last = path[path.length - 1]!;
    if (parent?.kind === 'object' && typeof last === 'string') {
      const at = parent.entries.findIndex((entry) => entry.key === last);
      if (at < 0) return false;
      parent.entries.splice(at, 1);
    } else if (parent?.kind === 'array' && typeof last === 'number') {
      if (last < 0 || last >= parent.items.length) return false;
      parent.items.splice(last, 1);
    } else {
      return false;
    }
    this.spliceable = false;
    return true;
  }

  toPlain(): PlainValue[] {
    return [jsonNodeToPlain(this.root)];
  }

  serialize(): string {
    if (this.spliceable) {
      const edited: JsonNode[] = [];
      collectSplices(this.root, edited);
      const parts: string[] = [];
      let at = 0;
      for (const node of edited) {
        if (node.kind !== 'scalar') continue;
        parts.push(this.source.slice(at, node.start), formatJsonScalar(node.value));
        at = node.end;
      }
      parts.push(this.source.slice(at));
      return parts.join('');
    }
    const body = this.formatNode(this.root, 0);
    if (this.metadata === undefined) return `${body}\n`;
    const sops = `${this.indent}${quoteJsonString('sops')}: ${formatJsonPlain(this.metadata, this.indent, 1)}`;
    if (this.root.entries.length === 0) return `{\n${sops}\n}\n`;
    return `${body.slice(0, -2)},\n${sops}\n}\n`;
  }

  private formatNode(node: JsonNode, depth: number): string {
    if (node.kind === 'scalar') {
      return node.edited || node.start < 0 ? formatJsonScalar(node.value) : this.source.slice(node.start, node.end);
    }
    const inner = this.indent.repeat(depth + 1);
    const close = this.indent.repeat(depth);
    if (node.kind === 'array') {
      if (node.items.length === 0) return '[]';
      return `[\n${node.items.map((item) => inner + this.formatNode(item, depth + 1)).join(',\n')}\n${close}]`;
    }
    if (node.entries.length === 0) return '{}';
    const parts = node.entries.map(
      (entry) => `${inner}${quoteJsonString(entry.key)}: ${this.formatNode(entry.value, depth + 1)}`,
    );
    return `{\n${parts.join(',\n')}\n${close}}`;
  }

  clone(): JsonDocument {
    return new JsonDocument(
      this.source,
      cloneNode(this.root) as JsonObject,
      this.metadata === undefined ? undefined : clonePlain(this.metadata),
      this.spliceable,
      this.indent,
    );
  }
}
