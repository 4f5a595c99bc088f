// Indexes a parsed YAML stream for the YAML store: every scalar and comment becomes a leaf with
// its text span in the source (so rewrites splice only what changed), in the MAC order, plus the
// events that drive the comment stack and a light tree for reading values by path.
import { type CST, type Document, isMap, isScalar, isSeq, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { PlainMap, PlainValue, ScalarValue } from '../tree.js';
import { parseError, positionOf } from './parse-error.js';
import type { YamlLayout } from './yaml-emit.js';

export interface YamlLeaf {
  keyPath: readonly string[];
  isComment: boolean;
  value: ScalarValue;
  /** Span in the source: a scalar's text (with its tag/anchor), or a comment's text after `#`. */
  start: number;
  end: number;
  flow: boolean;
  /** Column for a literal block replacing this value, or -1 when one cannot be written here. */
  blockIndent: number;
  /** `key:` with no value: a replacement needs a leading space. */
  empty: boolean;
  /** Replacement text, once the value changed. */
  text?: string;
}

export type YamlTree =
  | { kind: 'map'; entries: [string, YamlTree][] }
  | { kind: 'seq'; items: YamlTree[] }
  | { kind: 'leaf'; leaf: number };

export interface YamlDocumentIndex {
  tree: YamlTree | undefined;
  /** Where a new last key of the root map goes, and the column of the root keys. */
  insertAt: number;
  rootColumn: number;
  /** A root map that is not a block map cannot take text edits (a flow map, say). */
  blockRoot: boolean;
  sops?: { start: number; end: number; value: PlainValue };
}

/** Comment-stack events between leaf indexes (which are >= 0). */
export const ENTER = -1;
export const LEAVE = -2;
export const CLEAR = -3;
export const RESET = -4;

export class AliasFound extends Error {}

type SourceToken = CST.SourceToken;

export function yamlNodeToPlain(node: unknown): PlainValue {
  if (isMap(node)) {
    const map: PlainMap = new Map();
    for (const pair of node.items) map.set(String(isScalar(pair.key) ? pair.key.value : pair.key), yamlNodeToPlain(pair.value));
    return map;
  }
  if (isSeq(node)) return node.items.map(yamlNodeToPlain);
  if (isScalar(node)) return scalarValueOf(node);
  return null;
}

function scalarValueOf(node: Scalar): ScalarValue {
  const value = node.value;
  if (value === null || typeof value === 'string' || typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  return String(value);
}

function isCommentToken(token: SourceToken): boolean {
  return token.type === 'comment';
}

export class YamlIndexer {
  readonly leaves: YamlLeaf[] = [];
  readonly events: number[] = [];

  constructor(
    private readonly text: string,
    private readonly file: string | undefined,
    private readonly layout: YamlLayout,
  ) {}

  private columnOf(offset: number): number {
    return offset - (this.text.lastIndexOf('\n', offset - 1) + 1);
  }

  private fail(offset: number, reason: string): Error {
    const { line, column } = positionOf(this.text, offset);
    return parseError(this.file, line, column, reason);
  }

  private comment(token: SourceToken, keyPath: readonly string[]): void {
    this.events.push(this.leaves.length);
    this.leaves.push({
      keyPath,
      isComment: true,
      value: token.source.slice(1),
      start: token.offset + 1,
      end: token.offset + token.source.length,
      flow: false,
      blockIndent: -1,
      empty: false,
    });
  }

  /** Top-level comments after the last document (after a `...` marker). */
  trailingComments(tokens: readonly SourceToken[]): void {
    this.comments(tokens, []);
  }

  private comments(tokens: readonly SourceToken[] | undefined, keyPath: readonly string[]): void {
    if (tokens) for (const token of tokens) if (isCommentToken(token)) this.comment(token, keyPath);
  }

  /** Indexes one document; `prelude` holds the stream comments before it. */
  indexDocument(doc: Document, token: CST.Document | undefined, prelude: SourceToken[], docEnd: number): YamlDocumentIndex {
    this.events.push(RESET);
    this.comments(prelude, []);
    this.comments(token?.start, []);
    const contents = doc.contents as Node | null;
    const index: YamlDocumentIndex = { tree: undefined, insertAt: docEnd, rootColumn: 0, blockRoot: true };
    if (contents === null || (isScalar(contents) && contents.value === null)) {
      this.comments(token?.end, []);
      return index;
    }
    if (!isMap(contents)) throw this.fail(contents.range?.[0] ?? 0, 'a YAML document must be a map');
    const valueToken = token?.value;
    if (valueToken?.type === 'block-map') {
      const escaped: SourceToken[] = [];
      index.tree = this.blockMap(contents, valueToken, [], true, escaped, index);
      this.comments(escaped, []);
      index.rootColumn = valueToken.indent;
    } else {
      index.blockRoot = false;
      this.comments(valueToken ? flowComments(valueToken) : [], []);
      // A flow root cannot be edited as text: its metadata is only read here (start -1).
      const sops = (contents.items as Pair[]).find((pair) => isScalar(pair.key) && pair.key.value === 'sops');
      if (sops) index.sops = { start: -1, end: -1, value: yamlNodeToPlain(sops.value) };
      index.tree = this.flowNode(contents, [], true);
      index.insertAt = contents.range?.[2] ?? docEnd;
    }
    this.comments(token?.end, []);
    return index;
  }

  private keyOf(pair: Pair): string {
    const key = pair.key as Node | null;
    if (isScalar(key) && typeof key.value === 'string') return key.value;
    throw this.fail((key as Node | null)?.range?.[0] ?? 0, 'map keys must be strings');
  }

  private blockMap(
    node: YAMLMap,
    token: CST.BlockMap,
    keyPath: readonly string[],
    isRoot: boolean,
    escaped: SourceToken[],
    doc?: YamlDocumentIndex,
  ): YamlTree {
    const entries: [string, YamlTree][] = [];
    const pairs = node.items as Pair[];
    let pairAt = 0;
    const lastPairItem = findLastIndex(token.items, (item) => (pairs[pairs.length - 1] as { srcToken?: unknown } | undefined)?.srcToken === item);
    token.items.forEach((item, itemIndex) => {
      const trailing = itemIndex > lastPairItem;
      for (const comment of item.start) {
        if (!isCommentToken(comment)) continue;
        if (trailing && !isRoot && this.columnOf(comment.offset) < token.indent) escaped.push(comment);
        else this.comment(comment, keyPath);
      }
      const pair = pairs[pairAt];
      if (!pair || (pair as { srcToken?: unknown }).srcToken !== item) return;
      pairAt++;
      const key = this.keyOf(pair);
      const value = pair.value as Node | null;
      if (isRoot && key === 'sops' && doc) {
        const keyStart = (pair.key as Scalar).range![0];
        const lineStart = this.text.lastIndexOf('\n', keyStart - 1) + 1;
        const onOwnLine = /^[ \t]*$/.test(this.text.slice(lineStart, keyStart));
        doc.sops = {
          start: onOwnLine ? lineStart : keyStart,
          end: value?.range?.[2] ?? (pair.key as Scalar).range![2],
          value: yamlNodeToPlain(value),
        };
        return;
      }
      const childPath = [...keyPath, key];
      // In `sep`, a comment before the first line break is the key's line comment; later ones
      // head the nested collection.
      const sep = item.sep ?? [];
      const breakAt = sep.findIndex((part) => part.type === 'newline');
      const nestedBlock = item.value?.type === 'block-map' || item.value?.type === 'block-seq';
      this.comments(breakAt < 0 ? sep : sep.slice(0, breakAt), keyPath);
      const leading = breakAt < 0 ? [] : sep.slice(breakAt).filter(isCommentToken);
      if (!nestedBlock) this.comments(leading, keyPath);
      const childEscaped: SourceToken[] = [];
      entries.push([key, this.value(value, item.value, childPath, keyPath, token.indent, sep, nestedBlock ? leading : [], childEscaped)]);
      this.events.push(CLEAR);
      for (const comment of childEscaped) {
        if (itemIndex === lastPairItem && !isRoot && this.columnOf(comment.offset) < token.indent) escaped.push(comment);
        else this.comment(comment, keyPath);
      }
    });
    return { kind: 'map', entries };
  }

  private blockSeq(node: YAMLSeq, token: CST.BlockSequence, keyPath: readonly string[], escaped: SourceToken[]): YamlTree {
    const items: YamlTree[] = [];
    let nodeAt = 0;
    const isItem = (item: CST.BlockSequence['items'][number]): boolean =>
      item.value !== undefined || item.start.some((part) => part.type === 'seq-item-ind');
    const lastItem = findLastIndex(token.items, isItem);
    token.items.forEach((item, itemIndex) => {
      const indicatorAt = item.start.findIndex((part) => part.type === 'seq-item-ind');
      const before = indicatorAt < 0 ? item.start : item.start.slice(0, indicatorAt);
      for (const comment of before) {
        if (!isCommentToken(comment)) continue;
        if (itemIndex > lastItem && this.columnOf(comment.offset) < token.indent) escaped.push(comment);
        else this.comment(comment, keyPath);
      }
      if (!isItem(item)) return;
      const child = node.items[nodeAt++] as Node | null;
      const after = indicatorAt < 0 ? [] : item.start.slice(indicatorAt).filter(isCommentToken);
      const nestedBlock = item.value?.type === 'block-map' || item.value?.type === 'block-seq';
      if (!nestedBlock) this.comments(after, keyPath);
      const childEscaped: SourceToken[] = [];
      items.push(this.value(child, item.value, keyPath, keyPath, token.indent, item.start, nestedBlock ? after : [], childEscaped));
      this.events.push(CLEAR);
      for (const comment of childEscaped) {
        if (itemIndex === lastItem && this.columnOf(comment.offset) < token.indent) escaped.push(comment);
        else this.comment(comment, keyPath);
      }
    });
    return { kind: 'seq', items };
  }

  private value(
    node: Node | null,
    token: CST.Token | undefined,
    keyPath: readonly string[],
    /** The enclosing collection's path: where comments around a scalar belong. */
    commentPath: readonly string[],
    parentIndent: number,
    props: readonly SourceToken[],
    leading: readonly SourceToken[],
    escaped: SourceToken[],
  ): YamlTree {
    if (isMap(node) && token?.type === 'block-map') {
      this.events.push(ENTER);
      this.comments(leading, keyPath);
      const tree = this.blockMap(node, token, keyPath, false, escaped);
      this.events.push(LEAVE);
      return tree;
    }
    if (isSeq(node) && token?.type === 'block-seq') {
      this.events.push(ENTER);
      this.comments(leading, keyPath);
      const tree = this.blockSeq(node, token, keyPath, escaped);
      this.events.push(LEAVE);
      return tree;
    }
    if (isMap(node) || isSeq(node)) {
      this.comments(token ? flowComments(token) : [], commentPath);
      return this.flowNode(node, keyPath);
    }
    if (node !== null && !isScalar(node)) throw new AliasFound();
    // Line comments of a scalar come before it, as SOPS orders them.
    if (token?.type === 'block-scalar') {
      this.comments(token.props.filter((part): part is SourceToken => 'source' in part && part.type === 'comment'), commentPath);
    } else if (token && 'end' in token) this.comments(token.end as SourceToken[] | undefined, commentPath);
    const range = node?.range ?? [0, 0, 0];
    let start = range[0];
    for (const part of props) if ((part.type === 'tag' || part.type === 'anchor') && part.offset < start) start = part.offset;
    const end = range[1];
    const lineEnd = this.text.indexOf('\n', end);
    const rest = this.text.slice(end, lineEnd < 0 ? this.text.length : lineEnd);
    const canBlock = this.text[end - 1] === '\n' || /^[ \t]*$/.test(rest);
    this.events.push(this.leaves.length);
    this.leaves.push({
      keyPath,
      isComment: false,
      value: node ? scalarValueOf(node) : null,
      start,
      end,
      flow: false,
      blockIndent: canBlock ? parentIndent + this.layout.indent : -1,
      empty: start === end,
    });
    return { kind: 'leaf', leaf: this.leaves.length - 1 };
  }

  /** A flow collection (or anything inside one): no comments of its own, values must stay flow. */
  private flowNode(node: Node | null, keyPath: readonly string[], isRoot = false): YamlTree {
    if (isMap(node)) {
      if (!isRoot) this.events.push(ENTER);
      const entries: [string, YamlTree][] = [];
      for (const pair of node.items as Pair[]) {
        const key = this.keyOf(pair);
        if (isRoot && key === 'sops') continue;
        entries.push([key, this.flowNode(pair.value as Node | null, [...keyPath, key])]);
        this.events.push(CLEAR);
      }
      if (!isRoot) this.events.push(LEAVE);
      return { kind: 'map', entries };
    }
    if (isSeq(node)) {
      this.events.push(ENTER);
      const items: YamlTree[] = [];
      for (const item of node.items as (Node | null)[]) {
        if (item !== null && !isScalar(item) && !isMap(item) && !isSeq(item)) {
          if ((item as { constructor: { name: string } }).constructor.name === 'Pair') throw this.fail(0, 'key: value pairs inside a flow sequence are not supported');
          throw new AliasFound();
        }
        items.push(this.flowNode(item, keyPath));
        this.events.push(CLEAR);
      }
      this.events.push(LEAVE);
      return { kind: 'seq', items };
    }
    if (node !== null && !isScalar(node)) throw new AliasFound();
    const range = node?.range ?? [0, 0, 0];
    this.events.push(this.leaves.length);
    this.leaves.push({
      keyPath,
      isComment: false,
      value: node ? scalarValueOf(node) : null,
      start: range[0],
      end: range[1],
      flow: true,
      blockIndent: -1,
      empty: range[0] === range[1],
    });
    return { kind: 'leaf', leaf: this.leaves.length - 1 };
  }
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let index = items.length - 1; index >= 0; index--) if (test(items[index]!)) return index;
  return -1;
}

/** Every comment inside a flow collection, in order. */
function flowComments(token: CST.Token): SourceToken[] {
  const found: SourceToken[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) walk(item);
    else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (record.type === 'comment' && typeof record.source === 'string') found.push(record as unknown as SourceToken);
      else for (const key of ['start', 'items', 'key', 'sep', 'value', 'end', 'props']) walk(record[key]);
    }
  };
  walk(token);
  return found;
}

/** The indentation of an existing file: the first nested block map gives the width. */
export function detectLayout(tokens: readonly CST.Token[]): YamlLayout {
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  const visitMap = (token: CST.BlockMap): void => {
    for (const item of token.items) {
      if (indent !== undefined && indentSeq !== undefined) return;
      const value = item.value;
      if (value?.type === 'block-map') {
        if (indent === undefined && value.indent > token.indent) indent = value.indent - token.indent;
        visitMap(value);
      } else if (value?.type === 'block-seq') {
        if (indentSeq === undefined) indentSeq = value.indent > token.indent;
        if (indent === undefined && value.indent > token.indent) {
          indent = value.indent - token.indent;
        }
        visitSeq(value);
      }
    }
  };
  const visitSeq = (token: CST.BlockSequence): void => {
    for (const item of token.items) {
      if (indent !== undefined && indentSeq !== undefined) return;
      if (item.value?.type === 'block-map') visitMap(item.value);
      else if (item.value?.type === 'block-seq') visitSeq(item.value);
    }
  };
  for (const token of tokens) if (token.type === 'document' && token.value?.type === 'block-map') visitMap(token.value);
  return { indent: indent ?? 4, indentSeq: indentSeq ?? true };
}
