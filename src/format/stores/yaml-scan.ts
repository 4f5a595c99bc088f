// A fast reader for the regular YAML shape SOPS writes: block maps and lists, one-line plain and
// quoted scalars, `|`/`|-` literal blocks, comments on their own lines or after a value, blank
// lines and `---` separators. It builds exactly the index the yaml-package path (yaml-index.ts)
// builds, including where comments land and the comment-stack events, at a fraction of the cost.
// Anything else (flow collections, anchors, tags, multi-line plain or quoted scalars, folded
// blocks, complex keys, tabs, duplicate or non-string keys, empty values, unusual comment
// placement) makes it return undefined, and the caller takes the full parser.
import type { PlainMap, PlainValue, ScalarValue } from '../tree.js';
import { clonePlain } from './plain.js';
import type { YamlLayout } from './yaml-emit.js';
import { CLEAR, ENTER, LEAVE, RESET, type YamlDocumentIndex, type YamlLeaf, type YamlTree } from './yaml-index.js';

export interface ScannedStream {
  layout: YamlLayout;
  docs: YamlDocumentIndex[];
  leaves: YamlLeaf[];
  events: number[];
}

/** Thrown inside the scanner when the text leaves the supported shape. */
class Unsupported extends Error {}

const UNSUPPORTED = new Unsupported();

function bail(): never {
  throw UNSUPPORTED;
}

// Characters the yaml package treats specially (tabs, CR, BOM, control and line-separator
// characters) and that SOPS output does not contain: a text with any of them takes the full parser.
const ODD_CHARACTER = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

// YAML 1.2 core schema, in the yaml package's tag order (schema/core).
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** The value of a plain scalar, resolved as the yaml package does with the core schema and ints as bigint. */
export function resolvePlain(text: string): ScalarValue {
  const first = text.charCodeAt(0);
  // letters other than those starting null/true/false: a string (the common case, e.g. ENC[...])
  if (first >= 65 && first <= 122 && !/[nNtTfF]/.test(text[0]!)) return text;
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (INT_OCT.test(text) || INT.test(text) || INT_HEX.test(text)) return BigInt(text);
  if (FLOAT_NAN.test(text)) return text.slice(-3).toLowerCase() === 'nan' ? Number.NaN : text[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (FLOAT_EXP.test(text) || FLOAT.test(text)) return Number.parseFloat(text);
  return text;
}

// JSON escapes are a subset of YAML's double-quoted escapes with the same meaning. Sticky and
// stopping at a line break: they match in place in the whole text, as on the line alone.
const JSON_SAFE_QUOTED = /"(?:[^"\\\n]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const SINGLE_QUOTED = /'(?:[^'\n]|'')*'/y;
// A plain scalar's first character: not an indicator (`-` is allowed before a non-space, e.g. -5).
const PLAIN_START = /(?:[^-?:,[\]{}#&*!|>'"%@`\s]|-\S)/y;

/** A sticky pattern's match at `at` in `text`, or null. */
function matchAt(pattern: RegExp, text: string, at: number): RegExpExecArray | null {
  pattern.lastIndex = at;
  return pattern.exec(text);
}

/**
 * The first `needle` at or after a position, remembered: the scanner asks with positions that only
 * move forward, so each part of the text is searched once (indexOf alone would rescan to the next
 * occurrence, possibly the end of the text, from every line).
 */
class NextOccurrence {
  private from = Number.POSITIVE_INFINITY;
  private found = -1;

  constructor(
    private readonly text: string,
    private readonly needle: string,
  ) {}

  after(at: number): number {
    if (at < this.from || (this.found >= 0 && this.found < at)) {
      this.from = at;
      this.found = this.text.indexOf(this.needle, at);
    }
    return this.found;
  }
}

interface Frame {
  kind: 'map' | 'seq';
  indent: number;
  keyPath: readonly string[];
  tree: YamlTree & { kind: 'map' | 'seq' };
  keys: Set<string> | undefined;
  isRoot: boolean;
  /** Comments deferred to the parent (the indexer's "escaped" comments). */
  escaped: Comment[];
}

interface Comment {
  /** Offset of the `#`. */
  offset: number;
  end: number;
  column: number;
}

/** A nested block expected after `key:` on the next content line. */
interface Opening {
  keyPath: readonly string[];
  parent: Frame;
  key: string;
}

class Scanner {
  leaves: YamlLeaf[] = [];
  events: number[] = [];
  /** Leaves of the `sops` entry go to scratch lists: the indexer does not visit them. */
  private mainLeaves: YamlLeaf[] = this.leaves;
  private mainEvents: number[] = this.events;
  private sopsFrame: Frame | undefined;
  private sopsEntry: { start: number; tree: YamlTree; doc: YamlDocumentIndex } | undefined;

  readonly docs: YamlDocumentIndex[] = [];
  private layoutIndent: number | undefined;
  private layoutIndentSeq: boolean | undefined;

  private stack: Frame[] = [];
  private pending: Comment[] = [];
  private opening: Opening | undefined;
  private doc: YamlDocumentIndex | undefined;
  private lastContentEnd = 0;

  private readonly colons: NextOccurrence;
  private readonly comments: NextOccurrence;

  constructor(private readonly text: string) {
    this.colons = new NextOccurrence(text, ':');
    this.comments = new NextOccurrence(text, ' #');
  }

  scan(): ScannedStream {
    const text = this.text;
    if (ODD_CHARACTER.test(text)) bail();
    for (let at = 0; at < text.length; ) {
      let next = text.indexOf('\n', at);
      if (next < 0) next = text.length;
      this.line(at, next);
      if (this.skipTo >= 0) {
        at = this.skipTo;
        this.skipTo = -1;
      } else at = next + 1;
    }
    // no content at all, or an empty last document
    if (!this.doc) bail();
    this.endDocument(text.length);
    const indent = this.layoutIndent ?? 4;
    for (const leaf of this.leaves) if (leaf.blockIndent >= 0) leaf.blockIndent += indent;
    return { layout: { indent, indentSeq: this.layoutIndentSeq ?? true }, docs: this.docs, leaves: this.leaves, events: this.events };
  }

  private line(start: number, end: number): void {
    const text = this.text;
    let column = 0;
    while (text.charCodeAt(start + column) === 32) column++;
    const bodyAt = start + column;
    if (bodyAt >= end) return; // blank
    const first = text[bodyAt];
    if (first === '#') {
      this.pending.push({ offset: bodyAt, end, column });
      return;
    }
    if (column === 0 && text.startsWith('---', start)) {
      // a separator: ends the document before it; an empty document takes the full parser
      if (end !== start + 3 || this.opening || this.separated) bail();
      if (this.doc) this.endDocument(start);
      this.separated = true;
      return;
    }
    if (column === 0 && text.startsWith('...', start)) bail();
    this.separated = false;
    this.content(bodyAt, end, column);
  }

  /** A `---` was seen and no content since. */
  private separated = false;

  private emitComment(comment: Comment, keyPath: readonly string[]): void {
    if (this.sopsFrame) bail(); // comments in or after the metadata: rare, placement intricate
    this.events.push(this.leaves.length);
    this.leaves.push({
      keyPath,
      isComment: true,
      value: this.text.slice(comment.offset + 1, comment.end),
      start: comment.offset + 1,
      end: comment.end,
      flow: false,
      blockIndent: -1,
      empty: false,
    });
  }

  private startDocument(): void {
    this.doc = { tree: undefined, insertAt: 0, rootColumn: 0, blockRoot: true };
    this.events.push(RESET);
  }

  /** Closes every open collection before a `---` (or the end of the text). */
  private closeDocument(): void {
    if (this.stack.length === 0 || this.opening) bail();
    this.checkGlued();
    this.closeTo(-1, false);
    const root = this.stack.pop()!;
    this.finishFrame(root);
    for (const comment of this.pending) this.emitComment(comment, []);
    this.pending = [];
  }

  private endDocument(docEnd: number): void {
    this.closeDocument();
    const doc = this.doc;
    if (!doc) bail();
    doc.insertAt = docEnd;
    this.docs.push(doc);
    this.doc = undefined;
  }

  /**
   * Pops the collections a line at `column` leaves. Comments gathered since the last value sit in
   * the innermost collection; the yaml parser moves them up with a collection it closes when they
   * are all less indented than it (or it is at column 0), otherwise the indexer emits the deeper
   * ones inside it and lets the others escape outwards.
   */
  private closeTo(column: number, seqItem: boolean): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1]!;
      if (top.isRoot) return;
      const closes = top.indent > column || (top.kind === 'seq' && top.indent === column && !seqItem);
      if (!closes) return;
      this.stack.pop();
      const parent = this.stack[this.stack.length - 1]!;
      let escaped: Comment[] = [];
      const group = this.pending;
      if (group.length > 0 && !(top.indent === 0 || group.every((comment) => comment.column < top.indent))) {
        for (const comment of group) {
          if (comment.column >= top.indent) this.emitComment(comment, top.keyPath);
          else escaped.push(comment);
        }
        this.pending = [];
      }
      escaped = [...top.escaped, ...escaped];
      this.finishFrame(top);
      const parentCloses = parent.indent > column || (parent.kind === 'seq' && parent.indent === column && !seqItem);
      for (const comment of escaped) {
        if (parentCloses && !parent.isRoot && comment.column < parent.indent) parent.escaped.push(comment);
        else this.emitComment(comment, parent.keyPath);
      }
    }
  }

  /** LEAVE and the parent's CLEAR after a nested collection (the root has neither). */
  private finishFrame(frame: Frame): void {
    if (frame === this.sopsFrame) {
      this.sopsFrame = undefined;
      this.leaves = this.mainLeaves;
      this.events = this.mainEvents;
      const entry = this.sopsEntry!;
      const value = plainOf(entry.tree, this.scratchLeaves);
      entry.doc.sops = { start: entry.start, end: this.lastContentEnd, value };
      this.sopsEntry = undefined;
      return;
    }
    if (frame.isRoot) return;
    this.events.push(LEAVE, CLEAR);
  }

  private scratchLeaves: YamlLeaf[] = [];

  private pushFrame(kind: 'map' | 'seq', indent: number, keyPath: readonly string[], isRoot: boolean): Frame {
    const tree: Frame['tree'] = kind === 'map' ? { kind: 'map', entries: [] } : { kind: 'seq', items: [] };
    const frame: Frame = { kind, indent, keyPath, tree, keys: kind === 'map' ? new Set() : undefined, isRoot, escaped: [] };
    this.stack.push(frame);
    return frame;
  }

  private content(at: number, end: number, column: number): void {
    const text = this.text;
    const seqItem = text.charCodeAt(at) === 45 && (at + 1 === end || text.charCodeAt(at + 1) === 32);
    if (this.stack.length === 0) {
      // the root map of a new document
      if (column !== 0 || seqItem || this.opening) bail();
      this.startDocument();
      for (const comment of this.pending) this.emitComment(comment, []);
      this.pending = [];
      const root = this.pushFrame('map', 0, [], true);
      this.doc!.tree = root.tree;
      this.entry(root, at, end, column);
      return;
    }
    const opening = this.opening;
    if (opening) {
      this.opening = undefined;
      const parent = opening.parent;
      if (!(column > parent.indent || (column === parent.indent && seqItem))) bail(); // an empty value
      const kind = seqItem ? 'seq' : 'map';
      if (parent.kind === 'map') {
        if (this.layoutIndent === undefined && column > parent.indent) this.layoutIndent = column - parent.indent;
        if (kind === 'seq' && this.layoutIndentSeq === undefined) this.layoutIndentSeq = column > parent.indent;
      }
      const isSops = parent.isRoot && opening.key === 'sops';
      // the indexer reads no comments around the metadata
      if (isSops && (kind !== 'map' || this.pending.length > 0)) bail();
      if (!isSops) this.events.push(ENTER);
      for (const comment of this.pending) this.emitComment(comment, opening.keyPath);
      this.pending = [];
      const frame = this.pushFrame(kind, column, opening.keyPath, false);
      this.attach(parent, opening.key, frame.tree);
      if (isSops) this.enterSops(frame, parent);
      this.entry(frame, at, end, column);
      return;
    }
    this.checkGlued();
    this.closeTo(column, seqItem);
    const frame = this.stack[this.stack.length - 1]!;
    if (frame.indent !== column) bail();
    for (const comment of this.pending) this.emitComment(comment, frame.keyPath);
    this.pending = [];
    this.entry(frame, at, end, column);
  }

  /** The yaml parser joins a comment more indented than the innermost collection to the value before it. */
  private checkGlued(): void {
    const inner = this.stack[this.stack.length - 1]!;
    if (this.pending.some((comment) => comment.column > inner.indent)) bail();
  }

  private enterSops(frame: Frame, root: Frame): void {
    const keyStart = this.sopsKeyStart;
    this.sopsFrame = frame;
    this.scratchLeaves = [];
    this.leaves = this.scratchLeaves;
    this.events = [];
    this.sopsEntry = { start: keyStart, tree: frame.tree, doc: this.doc! };
    // the sops pair is not an entry of the tree
    const entries = (root.tree as { entries: [string, YamlTree][] }).entries;
    entries.pop();
  }

  private sopsKeyStart = 0;

  private attach(parent: Frame, key: string | undefined, tree: YamlTree): void {
    if (parent.tree.kind === 'map') parent.tree.entries.push([key!, tree]);
    else parent.tree.items.push(tree);
  }

  /** One entry of `frame` starting at `at` (a key, or `-` for a list). */
  private entry(frame: Frame, at: number, end: number, column: number): void {
    const text = this.text;
    if (frame.kind === 'seq') {
      if (text.charCodeAt(at) !== 45 || (at + 1 < end && text.charCodeAt(at + 1) !== 32)) bail();
      let valueAt = at + 1;
      while (valueAt < end && text.charCodeAt(valueAt) === 32) valueAt++;
      if (valueAt >= end || text[valueAt] === '#') bail(); // `-` alone: the item is on the next lines
      const valueColumn = column + (valueAt - at);
      const ch = text.charCodeAt(valueAt);
      if (ch === 45 && (valueAt + 1 === end || text.charCodeAt(valueAt + 1) === 32)) {
        // `- - item`: a list in a list
        this.events.push(ENTER);
        const nested = this.pushFrame('seq', valueColumn, frame.keyPath, false);
        this.attach(frame, undefined, nested.tree);
        this.entry(nested, valueAt, end, valueColumn);
        return;
      }
      if (this.findColon(valueAt, end) >= 0) {
        // `- key: value`: a map in a list
        this.events.push(ENTER);
        const nested = this.pushFrame('map', valueColumn, frame.keyPath, false);
        this.attach(frame, undefined, nested.tree);
        this.entry(nested, valueAt, end, valueColumn);
        return;
      }
      const leaf = this.scalar(frame, frame.keyPath, valueAt, end);
      this.attach(frame, undefined, leaf);
      this.events.push(CLEAR);
      return;
    }
    const colon = this.findColon(at, end);
    if (colon < 0) bail();
    const key = this.key(at, colon);
    if (frame.keys!.has(key)) bail();
    frame.keys!.add(key);
    const keyPath = [...frame.keyPath, key];
    let valueAt = colon + 1;
    while (valueAt < end && text.charCodeAt(valueAt) === 32) valueAt++;
    if (frame.isRoot && key === 'sops') this.sopsKeyStart = at - column;
    if (valueAt >= end || text[valueAt] === '#') {
      // `key:` (maybe with a comment): a nested collection follows
      if (valueAt < end) {
        if (valueAt === colon + 1 || (frame.isRoot && key === 'sops')) bail();
        this.emitComment({ offset: valueAt, end, column: valueAt - (at - column) }, frame.keyPath);
      }
      // the tree entry is attached when the nested collection starts
      this.opening = { keyPath, parent: frame, key };
      this.lastContentEnd = Math.min(end + 1, text.length);
      return;
    }
    if (frame.isRoot && key === 'sops') bail(); // metadata that is not a map
    const leaf = this.scalar(frame, keyPath, valueAt, end);
    this.attach(frame, key, leaf);
    this.events.push(CLEAR);
  }

  /** The `:` ending a key on this line (followed by a space or the line's end), or -1. */
  private findColon(at: number, end: number): number {
    const text = this.text;
    const first = text[at];
    if (first === '"' || first === "'") {
      const match = matchAt(first === '"' ? JSON_SAFE_QUOTED : SINGLE_QUOTED, text, at);
      if (!match) bail();
      const after = at + match[0].length;
      if (text[after] !== ':') return -1;
      return after + 1 === end || text.charCodeAt(after + 1) === 32 ? after : bail();
    }
    const hash = this.commentStart(at, end);
    // a `:` followed by a space or the line's end; after a comment start it is a scalar, not a key
    for (let colon = this.colons.after(at); colon >= 0 && colon < hash; colon = this.colons.after(colon + 1)) {
      if (colon + 1 === end || text.charCodeAt(colon + 1) === 32) return colon;
    }
    return -1;
  }

  private key(at: number, colon: number): string {
    const text = this.text;
    if (colon - at > 1024) bail(); // the yaml package refuses implicit keys this long
    const source = text.slice(at, colon);
    if (source[0] === '"') return JSON.parse(source) as string;
    if (source[0] === "'") return source.slice(1, -1).replaceAll("''", "'");
    if (!matchAt(PLAIN_START, source, 0) || source.endsWith(' ') || source.includes('\t')) bail();
    const value = resolvePlain(source);
    if (typeof value !== 'string') bail(); // the full path reports non-string keys
    return value;
  }

  /** A scalar value starting at `at` on its line; adds its line comment (first) and its leaf. */
  private scalar(frame: Frame, keyPath: readonly string[], at: number, end: number): YamlTree {
    const text = this.text;
    const first = text[at];
    let valueEnd: number;
    let value: ScalarValue;
    let rest: number;
    if (first === '"' || first === "'") {
      const match = matchAt(first === '"' ? JSON_SAFE_QUOTED : SINGLE_QUOTED, text, at);
      if (!match) bail(); // multi-line, or escapes JSON lacks
      valueEnd = at + match[0].length;
      value = first === '"' ? (JSON.parse(match[0]) as string) : match[0].slice(1, -1).replaceAll("''", "'");
      rest = valueEnd;
    } else if (first === '|') {
      return this.literal(frame, keyPath, at, end);
    } else if (first === '[' || first === '{') {
      // only an empty flow collection (`kms: []` in the metadata), alone on its line
      if (text[at + 1] !== (first === '[' ? ']' : '}') || text.slice(at + 2, end).trim() !== '') bail();
      this.events.push(ENTER, LEAVE);
      this.lastContentEnd = Math.min(end + 1, text.length);
      return first === '[' ? { kind: 'seq', items: [] } : { kind: 'map', entries: [] };
    } else {
      if (!matchAt(PLAIN_START, text, at)) bail();
      valueEnd = this.commentStart(at, end);
      while (valueEnd > at && text.charCodeAt(valueEnd - 1) === 32) valueEnd--;
      const source = text.slice(at, valueEnd);
      if (source.includes(': ') || source.endsWith(':') || source.includes('\t')) bail();
      value = resolvePlain(source);
      rest = valueEnd;
    }
    // after the value: spaces, then maybe a comment
    let commentAt = rest;
    while (commentAt < end && text.charCodeAt(commentAt) === 32) commentAt++;
    if (commentAt < end) {
      if (text[commentAt] !== '#' || commentAt === rest) bail();
      this.emitComment({ offset: commentAt, end, column: 0 }, frame.keyPath);
    }
    this.lastContentEnd = Math.min(end + 1, text.length);
    return this.valueLeaf(keyPath, value, at, valueEnd, commentAt >= end ? frame.indent : -1);
  }

  private valueLeaf(keyPath: readonly string[], value: ScalarValue, start: number, end: number, blockParent: number): YamlTree {
    this.events.push(this.leaves.length);
    // blockIndent holds the parent's indentation until the layout is known (see scan)
    this.leaves.push({ keyPath, isComment: false, value, start, end, flow: false, blockIndent: blockParent, empty: false });
    return { kind: 'leaf', leaf: this.leaves.length - 1 };
  }

  /** A `|` or `|-` literal block: its lines are read here, and the line loop resumes after them. */
  private literal(frame: Frame, keyPath: readonly string[], at: number, end: number): YamlTree {
    const text = this.text;
    const header = text.slice(at, end);
    if (header !== '|' && header !== '|-') bail();
    const lines: string[] = [];
    let indent = -1;
    let lineAt = end + 1;
    let contentEnd = end + 1;
    while (lineAt < text.length) {
      let lineEnd = text.indexOf('\n', lineAt);
      if (lineEnd < 0) lineEnd = text.length;
      let column = 0;
      while (text.charCodeAt(lineAt + column) === 32) column++;
      if (lineAt + column === lineEnd) {
        if (column > 0) bail(); // whitespace-only lines: their spaces may or may not be content
        lines.push('');
      } else {
        if (indent < 0) {
          if (column <= frame.indent) break;
          indent = column;
        }
        if (column < indent) {
          if (column > frame.indent) bail();
          break;
        }
        if (text.slice(lineAt, lineEnd).includes('\t')) bail();
        lines.push(text.slice(lineAt + indent, lineEnd));
        contentEnd = Math.min(lineEnd + 1, text.length);
      }
      lineAt = lineEnd + 1;
    }
    if (indent < 0) bail(); // an empty block
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const body = lines.join('\n');
    const value = header === '|' ? `${body}\n` : body;
    this.skipTo = contentEnd;
    this.lastContentEnd = contentEnd;
    return this.valueLeaf(keyPath, value, at, contentEnd, frame.indent);
  }

  /** Where ` #` starts a comment in text[at, end), or `end`. */
  private commentStart(at: number, end: number): number {
    const space = this.comments.after(at);
    return space >= 0 && space + 1 < end ? space : end;
  }

  /** Set by a literal block: the line loop continues from here. */
  skipTo = -1;
}

function plainOf(tree: YamlTree, leaves: readonly YamlLeaf[]): PlainValue {
  if (tree.kind === 'leaf') return clonePlain(leaves[tree.leaf]!.value);
  if (tree.kind === 'seq') return tree.items.map((item) => plainOf(item, leaves));
  const map: PlainMap = new Map();
  for (const [key, child] of tree.entries) map.set(key, plainOf(child, leaves));
  return map;
}

/** The index of a SOPS-shaped YAML text, or undefined when the text needs the full parser. */
export function scanStream(text: string): ScannedStream | undefined {
  try {
    return new Scanner(text).scan();
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}
