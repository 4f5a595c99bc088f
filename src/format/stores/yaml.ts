// The YAML store. Parsing uses a fast scanner for the regular shape SOPS writes (yaml-scan.ts) and
// the `yaml` package (core schema, ints as bigint) for everything else; both build the same index.
// Rewriting splices changed scalars and comments into the original text, so comments, blank lines,
// quoting and indentation survive. The `sops` entry is removed or appended as text; other
// structural edits are text splices too (yaml-edit.ts), with the yaml Document API as the fallback
// for shapes a splice cannot handle (flow collections).
import { Composer, type CST, Document, isAlias, isMap, isScalar, isSeq, type Node, Pair, Parser, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { CofferError } from '../../errors.js';
import type { Leaf, LeafVisitor, PathSegment, PlainMap, PlainValue, ScalarValue, StoreDocument } from '../tree.js';
import { CommentStack } from './comment-stack.js';
import { parseError, positionOf, unsupportedValue } from './parse-error.js';
import { clonePlain, invalidPath, isScalar as isPlainScalar, readMetadataValue, scalarText } from './plain.js';
import { planDelete, planSet, type TextSplice } from './yaml-edit.js';
import { scanStream } from './yaml-scan.js';
import { emitDocument, emitMetadataEntry, formatYamlScalar, isPlainSafe, type YamlLayout } from './yaml-emit.js';
import {
  AliasFound,
  CLEAR,
  detectLayout,
  ENTER,
  LEAVE,
  RESET,
  type YamlDocumentIndex,
  YamlIndexer,
  type YamlLeaf,
  type YamlTree,
} from './yaml-index.js';

const PARSE_OPTIONS = { intAsBigInt: true, schema: 'core', uniqueKeys: true, keepSourceTokens: true } as const;
const NEW_FILE_LAYOUT: YamlLayout = { indent: 4, indentSeq: true };
/** Alias expansion stops beyond this many nodes (or the input length, if larger): alias bombs. */
const MIN_EXPANSION_BUDGET = 100_000;

type MetadataEdit = { kind: 'keep' } | { kind: 'remove' } | { kind: 'write'; metadata: PlainMap };

interface ParsedStream {
  text: string;
  layout: YamlLayout;
  docs: YamlDocumentIndex[];
  leaves: YamlLeaf[];
  events: readonly number[];
}

function composeStream(text: string, file: string | undefined): { tokens: CST.Token[]; docs: Document.Parsed[] } {
  const tokens = Array.from(new Parser().parse(text));
  const docs = Array.from(new Composer(PARSE_OPTIONS).compose(tokens, true)) as Document.Parsed[];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const { line, column } = positionOf(text, error.pos[0]);
      // The library's message may carry an excerpt of the source: keep only the reason.
      const reason = (error.message.split('\n')[0] ?? 'invalid YAML').replace(/ at line \d+, column \d+:?$/, '');
      throw parseError(file, line, column, reason.charAt(0).toLowerCase() + reason.slice(1));
    }
  }
  return { tokens, docs };
}

/**
 * Which reader builds the index: `auto` tries the fast scanner for SOPS-shaped text and falls back
 * to the yaml package; tests force `scan` (fails when the scanner declines) or `full`.
 */
export type YamlReader = 'auto' | 'scan' | 'full';

function indexStream(text: string, file: string | undefined, reader: YamlReader = 'auto'): ParsedStream {
  if (reader !== 'full') {
    const scanned = scanStream(text);
    if (scanned) return { text, ...scanned };
    if (reader === 'scan') throw new Error('the fast YAML reader declined this text');
  }
  const { tokens, docs } = composeStream(text, file);
  const layout = detectLayout(tokens);
  const indexer = new YamlIndexer(text, file, layout);
  const docTokens = tokens.filter((token): token is CST.Document => token.type === 'document');
  const indexes: YamlDocumentIndex[] = [];
  let prelude: CST.SourceToken[] = [];
  let docAt = 0;
  try {
    for (let tokenAt = 0; tokenAt <= tokens.length; tokenAt++) {
      const token = tokens[tokenAt];
      if (token?.type === 'comment') prelude.push(token);
      if (token?.type === 'doc-end') prelude.push(...(token.end ?? []).filter((part) => part.type === 'comment'));
      if (token !== undefined && token.type !== 'document') continue;
      if (token === undefined && docAt > 0) break;
      const doc = docs[docAt];
      if (!doc) break;
      const next = tokens.slice(tokenAt + 1).find((candidate) => candidate.type === 'document' || candidate.type === 'doc-end');
      const docEnd = next ? next.offset : text.length;
      indexes.push(indexer.indexDocument(doc, token ?? docTokens[docAt], prelude, docEnd));
      prelude = [];
      docAt++;
    }
  } catch (error) {
    if (error instanceof AliasFound) return indexStream(expandAliases(docs, layout, text.length), file);
    throw error;
  }
  indexer.trailingComments(prelude);
  return { text, layout, docs: indexes, leaves: indexer.leaves, events: indexer.events };
}

/** Rewrites the stream with every alias replaced by a copy of its anchor's node, anchors dropped. */
function expandAliases(docs: Document.Parsed[], layout: YamlLayout, inputLength: number): string {
  let budget = Math.max(MIN_EXPANSION_BUDGET, inputLength);
  const spend = (): void => {
    if (--budget < 0) {
      throw new CofferError('INPUT_TOO_LARGE', 'YAML aliases expand to too many values (alias bomb?)', {
        hints: ['replace the aliases with the values they stand for'],
      });
    }
  };
  const texts = docs.map((doc) => {
    const copy = (node: unknown): unknown => {
      spend();
      if (isAlias(node)) return copy(node.resolve(doc));
      if (isScalar(node)) {
        const scalar = new Scalar(node.value);
        scalar.type = node.type;
        scalar.format = node.format;
        scalar.minFractionDigits = node.minFractionDigits;
        scalar.tag = node.tag;
        return scalar;
      }
      if (isMap(node)) {
        const map = new YAMLMap();
        map.flow = node.flow;
        for (const pair of node.items) map.items.push(new Pair(copy(pair.key), copy(pair.value)));
        return map;
      }
      if (isSeq(node)) {
        const seq = new YAMLSeq();
        seq.flow = node.flow;
        for (const item of node.items) seq.items.push(copy(item));
        return seq;
      }
      return node;
    };
    const expanded = new Document(null, { version: '1.2' });
    expanded.contents = copy(doc.contents) as Node;
    return expanded.toString({ indent: layout.indent, indentSeq: layout.indentSeq, lineWidth: 0, minContentWidth: 0 });
  });
  return texts.map((text, index) => (index === 0 ? text : `---\n${text}`)).join('');
}

function toYamlNode(value: PlainValue): unknown {
  if (value instanceof Map) {
    const map = new YAMLMap();
    for (const [key, child] of value) map.items.push(new Pair(new Scalar(key), toYamlNode(child)));
    return map;
  }
  if (Array.isArray(value)) {
    const seq = new YAMLSeq();
    for (const item of value) seq.items.push(toYamlNode(item));
    return seq;
  }
  if (value instanceof Uint8Array) throw unsupportedValue('raw bytes can only be stored in a binary file');
  const scalar = new Scalar(typeof value === 'object' && value !== null ? value.text : value);
  if (typeof value === 'string' && !isPlainSafe(value, false)) {
    scalar.type = value.includes('\n') ? Scalar.BLOCK_LITERAL : Scalar.QUOTE_DOUBLE;
  }
  if (typeof value === 'number' && Number.isInteger(value)) scalar.minFractionDigits = 1;
  return scalar;
}

function treeToPlain(tree: YamlTree | undefined, leaves: readonly YamlLeaf[]): PlainValue {
  if (!tree) return null;
  if (tree.kind === 'leaf') return clonePlain(leaves[tree.leaf]!.value);
  if (tree.kind === 'seq') return tree.items.map((item) => treeToPlain(item, leaves));
  const map: PlainMap = new Map();
  for (const [key, child] of tree.entries) map.set(key, treeToPlain(child, leaves));
  return map;
}

function findTree(tree: YamlTree | undefined, path: readonly PathSegment[]): YamlTree | undefined {
  let node = tree;
  for (const segment of path) {
    if (node?.kind === 'map' && typeof segment === 'string') node = node.entries.find(([key]) => key === segment)?.[1];
    else if (node?.kind === 'seq' && typeof segment === 'number') node = node.items[segment];
    else return undefined;
  }
  return node;
}

export class YamlDocument implements StoreDocument {
  readonly store = 'yaml' as const;

  private constructor(
    private stream: ParsedStream,
    private readonly file: string | undefined,
    private metadataEdit: MetadataEdit,
  ) {}

  static parse(text: string, file?: string, reader: YamlReader = 'auto'): YamlDocument {
    return new YamlDocument(indexStream(text, file, reader), file, { kind: 'keep' });
  }

  static fromPlain(documents: PlainValue[]): YamlDocument {
    if (documents.length === 0) throw unsupportedValue('a YAML file needs at least one document');
    const texts = documents.map((doc) => {
      if (doc === null) return '';
      if (!(doc instanceof Map)) throw unsupportedValue('each YAML document must be a map');
      return emitDocument(doc, NEW_FILE_LAYOUT);
    });
    const text = texts.map((part, index) => (index === 0 ? part : `---\n${part}`)).join('');
    const document = YamlDocument.parse(text);
    document.stream.layout = NEW_FILE_LAYOUT;
    return document;
  }

  mapLeaves(visit: LeafVisitor): void {
    const { leaves, events } = this.stream;
    let stack = new CommentStack();
    for (const event of events) {
      if (event >= 0) {
        const leaf = leaves[event]!;
        const view: Leaf = { keyPath: leaf.keyPath, value: leaf.value, isComment: leaf.isComment, commentStack: stack.snapshot() };
        const replacement = visit(view);
        if (replacement !== undefined) this.replaceLeaf(leaf, replacement);
        if (leaf.isComment) stack.push(scalarText(leaf.value));
      } else if (event === ENTER) stack.enter();
      else if (event === LEAVE) stack.leave();
      else if (event === CLEAR) stack.clear();
      else if (event === RESET) stack = new CommentStack();
    }
  }

  private replaceLeaf(leaf: YamlLeaf, value: ScalarValue): void {
    if (leaf.isComment) {
      const text = scalarText(value).replace(/\r?\n/g, ' ');
      leaf.value = text;
      leaf.text = text;
      return;
    }
    let text = formatYamlScalar(value, { flow: leaf.flow, blockIndent: leaf.blockIndent });
    if (leaf.empty) text = ` ${text}`;
    const source = this.stream.text;
    if (source[leaf.end - 1] === '\n' || (text.startsWith('|') && leaf.end === source.length)) text += '\n';
    leaf.value = value;
    leaf.text = text;
  }

  readMetadata(): PlainMap | undefined {
    if (this.metadataEdit.kind === 'remove') return undefined;
    if (this.metadataEdit.kind === 'write') return clonePlain(this.metadataEdit.metadata) as PlainMap;
    return readMetadataValue(this.stream.docs[0]?.sops?.value);
  }

  writeMetadata(metadata: PlainMap): void {
    this.metadataEdit = { kind: 'write', metadata: clonePlain(metadata) as PlainMap };
    if (this.stream.docs.some((doc) => !doc.blockRoot)) {
      this.editDocuments((docs) => {
        for (const doc of docs) {
          doc.delete('sops');
          doc.set('sops', toYamlNode(metadata));
        }
      });
    }
  }

  removeMetadata(): void {
    this.metadataEdit = { kind: 'remove' };
    if (this.stream.docs.some((doc) => !doc.blockRoot && doc.sops)) {
      this.editDocuments((docs) => {
        for (const doc of docs) doc.delete('sops');
      });
    }
  }

  getValue(path: readonly PathSegment[]): PlainValue | undefined {
    if (path[0] === 'sops' && path.length > 0) return undefined;
    const node = findTree(this.stream.docs[0]?.tree, path);
    return node && treeToPlain(node, this.stream.leaves);
  }

  setValue(path: readonly PathSegment[], value: PlainValue): void {
    if (path.length === 0) throw invalidPath(path, 'cannot replace the whole document');
    if (path[0] === 'sops') throw invalidPath(path, 'the sops entry is reserved for the metadata');
    const node = findTree(this.stream.docs[0]?.tree, path);
    if (node?.kind === 'leaf' && isPlainScalar(value)) {
      this.replaceLeaf(this.stream.leaves[node.leaf]!, value);
      return;
    }
    this.checkPath(path);
    if (this.spliceText((text, docs) => planSet(text, docs, path, value, this.stream.layout))) return;
    this.editDocuments((docs) => {
      const first = docs[0]!;
      if (first.contents === null) first.contents = new YAMLMap() as unknown as typeof first.contents;
      first.setIn(path, toYamlNode(value));
    });
  }

  /** Every step of the path must go through a map (string) or a list (index in range). */
  private checkPath(path: readonly PathSegment[]): void {
    let node = this.stream.docs[0]?.tree;
    for (const [at, segment] of path.entries()) {
      if (node === undefined) return; // created below
      if (node.kind === 'map' && typeof segment === 'string') node = node.entries.find(([key]) => key === segment)?.[1];
      else if (node.kind === 'seq' && typeof segment === 'number') {
        if (segment < 0 || segment > node.items.length || (segment === node.items.length && at < path.length - 1)) {
          throw invalidPath(path, 'list index out of range');
        }
        node = node.items[segment];
      } else if (node.kind === 'leaf' && at < path.length) {
        throw invalidPath(path, 'a value is in the way');
      } else {
        throw invalidPath(path, typeof segment === 'number' ? 'not a list' : 'not a map');
      }
    }
  }

  deleteValue(path: readonly PathSegment[]): boolean {
    if (path.length === 0 || path[0] === 'sops' || !findTree(this.stream.docs[0]?.tree, path)) return false;
    if (this.spliceText((text, docs) => planDelete(text, docs, path, this.stream.layout))) return true;
    this.editDocuments((docs) => {
      docs[0]!.deleteIn(path);
    });
    return true;
  }

  /** Structural edits as a text splice on the current text (other lines stay as they are); false when `plan` has none. */
  private spliceText(plan: (text: string, docs: Document.Parsed[]) => TextSplice | undefined): boolean {
    const text = this.serialize();
    const splice = plan(text, composeStream(text, this.file).docs);
    if (!splice) return false;
    this.reindex(text.slice(0, splice.start) + splice.text + text.slice(splice.end));
    return true;
  }

  /** Structural edits the text splices cannot do: apply them with the yaml Document API and re-index. */
  private editDocuments(edit: (docs: Document.Parsed[]) => void): void {
    const text = this.serialize();
    const { docs } = composeStream(text, this.file);
    edit(docs);
    const { indent, indentSeq } = this.stream.layout;
    const options = { indent, indentSeq, lineWidth: 0, minContentWidth: 0 };
    const rewritten = docs.map((doc, index) => {
      const part = doc.toString(options);
      return index === 0 || part.startsWith('---') ? part : `---\n${part}`;
    });
    this.reindex(rewritten.join(''));
  }

  private reindex(text: string): void {
    const layout = this.stream.layout;
    this.stream = indexStream(text, this.file);
    this.stream.layout = layout;
    if (this.metadataEdit.kind === 'write' && this.stream.docs.every((doc) => doc.blockRoot)) return;
    this.metadataEdit = { kind: 'keep' };
  }

  toPlain(): PlainValue[] {
    return this.stream.docs.map((doc) => treeToPlain(doc.tree, this.stream.leaves) ?? new Map());
  }

  serialize(): string {
    const { text, docs, leaves } = this.stream;
    const splices: { start: number; end: number; text: string }[] = [];
    for (const leaf of leaves) if (leaf.text !== undefined) splices.push({ start: leaf.start, end: leaf.end, text: leaf.text });
    const edit = this.metadataEdit;
    if (edit.kind !== 'keep') {
      for (const doc of docs) {
        if (doc.sops && doc.sops.start >= 0) splices.push({ start: doc.sops.start, end: doc.sops.end, text: '' });
        if (edit.kind === 'write' && doc.blockRoot) {
          let entry = emitMetadataEntry(edit.metadata, doc.rootColumn, this.stream.layout);
          let at = doc.insertAt;
          if (doc.sops && doc.sops.end === at) at = doc.sops.end;
          if (at > 0 && text[at - 1] !== '\n') entry = `\n${entry}`;
          splices.push({ start: at, end: at, text: entry });
        }
      }
    }
    if (splices.length === 0) return text;
    splices.sort((a, b) => a.start - b.start || a.end - b.end);
    const parts: string[] = [];
    let at = 0;
    for (const splice of splices) {
      parts.push(text.slice(at, splice.start), splice.text);
      at = Math.max(at, splice.end);
    }
    parts.push(text.slice(at));
    return parts.join('');
  }

  clone(): YamlDocument {
    const copy = new YamlDocument(
      { ...this.stream, leaves: this.stream.leaves.map((leaf) => ({ ...leaf })) },
      this.file,
      this.metadataEdit.kind === 'write' ? { kind: 'write', metadata: clonePlain(this.metadataEdit.metadata) as PlainMap } : this.metadataEdit,
    );
    return copy;
  }
}
