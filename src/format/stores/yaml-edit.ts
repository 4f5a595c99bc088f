// Structural edits of a YAML file as text splices: adding, replacing or removing one entry touches
// only that entry's lines, so every other line stays byte-identical (the Document API would
// re-indent the whole file). Shapes a splice cannot handle safely (flow collections, tags on
// collections, keys sharing a line with a list indicator and a comment) return undefined and the
// caller falls back to the Document API.
import { type Document, isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { PathSegment, PlainValue } from '../tree.js';
import { emitMap, emitSeqItems, emitValueAfterKey, type YamlLayout } from './yaml-emit.js';

export interface TextSplice {
  start: number;
  end: number;
  text: string;
}

type Collection = YAMLMap | YAMLSeq;

/** One step down from the root: the collection and the entry (pair or list index) holding `node`. */
interface Step {
  parent: Collection;
  pair: Pair | undefined;
  index: number;
  node: Node | null;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just after the line break ending the line that holds `offset` (or the text's end). */
function lineEnd(text: string, offset: number): number {
  const at = text.indexOf('\n', offset);
  return at < 0 ? text.length : at + 1;
}

function columnOf(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

function isBlock(node: unknown): node is Collection {
  return (isMap(node) || isSeq(node)) && !node.flow;
}

/**
 * Where an entry whose content ends at `contentEnd` stops: the rest of its last line, plus the
 * comment lines after it indented deeper than the entry (they belong to it; blank lines and
 * comments at its own column or less belong to what follows).
 */
function entryEnd(text: string, contentEnd: number, column: number): number {
  let end = contentEnd > 0 && text[contentEnd - 1] === '\n' ? contentEnd : lineEnd(text, contentEnd);
  for (let at = end; at < text.length; ) {
    const next = lineEnd(text, at);
    const line = text.slice(at, next);
    const body = line.trimStart();
    if (body === '') {
      at = next;
      continue;
    }
    if (!body.startsWith('#') || line.length - body.length <= column) break;
    end = next;
    at = next;
  }
  return end;
}

function contentEnd(pair: Pair): number {
  const key = (pair.key as Node | null)?.range?.[1] ?? 0;
  const value = (pair.value as Node | null)?.range?.[1] ?? 0;
  return Math.max(key, value);
}

/** The offset of the `-` of a block list item, when it shares the line with the item's start. */
function dashOf(text: string, item: Node | null): number | undefined {
  const start = item?.range?.[0];
  if (start === undefined) return undefined;
  let at = start - 1;
  while (at >= 0 && text[at] === ' ') at--;
  return text[at] === '-' ? at : undefined;
}

function isBlank(text: string): boolean {
  return text.trim() === '';
}

function walk(doc: Document.Parsed, path: readonly PathSegment[]): { steps: Step[]; node: Node | null } {
  const steps: Step[] = [];
  let node = doc.contents as Node | null;
  for (const segment of path) {
    if (isMap(node) && typeof segment === 'string') {
      const index = (node.items as Pair[]).findIndex((pair) => isScalar(pair.key) && pair.key.value === segment);
      if (index < 0) break;
      const pair = node.items[index] as Pair;
      steps.push({ parent: node, pair, index, node: pair.value as Node | null });
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof segment === 'number' && segment >= 0 && segment < node.items.length) {
      steps.push({ parent: node, pair: undefined, index: segment, node: node.items[segment] as Node | null });
      node = node.items[segment] as Node | null;
    } else break;
  }
  return { steps, node };
}

/** The plain value `value` wrapped in one map per remaining key. */
function nest(keys: readonly PathSegment[], value: PlainValue): PlainValue | undefined {
  let nested = value;
  for (let at = keys.length - 1; at >= 0; at--) {
    const key = keys[at];
    if (typeof key !== 'string') return undefined;
    nested = new Map([[key, nested]]);
  }
  return nested;
}

/** Replaces the value of an existing entry (a map pair or a list item), keeping its key line. */
function replaceEntry(text: string, step: Step, value: PlainValue, layout: YamlLayout): TextSplice | undefined {
  if (!isBlock(step.parent)) return undefined;
  const old = step.node;
  if (step.pair) {
    const key = step.pair.key as Node;
    const keyEnd = key.range?.[1];
    if (keyEnd === undefined) return undefined;
    const colon = text.indexOf(':', keyEnd);
    if (colon < 0 || !isBlank(text.slice(keyEnd, colon))) return undefined;
    const column = columnOf(text, key.range![0]);
    let comment: string;
    if (isBlock(old)) {
      comment = text.slice(colon + 1, lineEnd(text, colon)).trimEnd();
    } else {
      const start = old?.range?.[0];
      const end = old?.range?.[1];
      if (start === undefined || end === undefined) return undefined;
      if (start > colon + 1 && !isBlank(text.slice(colon + 1, start))) return undefined; // tag or anchor
      // a block scalar's header may carry the comment; its body ends with a line break
      comment = text[end - 1] === '\n' ? text.slice(start, lineEnd(text, start)).replace(/^[|>][-+0-9]*/, '').trimEnd() : text.slice(end, lineEnd(text, end)).trimEnd();
    }
    if (!/^(?:[ \t]+#.*)?$/.test(comment)) return undefined;
    const end = entryEnd(text, contentEnd(step.pair), column);
    return { start: colon + 1, end, text: emitValueAfterKey(value, column, layout, comment) };
  }
  const dash = dashOf(text, old);
  // `- - item`: the outer indicators stay
  if (dash === undefined || !/^[ -]*$/.test(text.slice(lineStart(text, dash), dash))) return undefined;
  const column = columnOf(text, dash);
  const end = entryEnd(text, Math.max(dash + 1, old?.range?.[1] ?? 0), column);
  return { start: dash, end, text: emitSeqItems([value], column, layout).slice(column) };
}

/** Adds `key: value` as the last entry of a block map (before `sops` in the root map). */
function addEntry(text: string, map: YAMLMap, key: string, value: PlainValue, layout: YamlLayout, isRoot: boolean): TextSplice | undefined {
  const pairs = map.items as Pair[];
  const first = (pairs[0]?.key as Node | undefined)?.range?.[0];
  if (first === undefined) return undefined;
  const column = columnOf(text, first);
  let last = pairs.length - 1;
  if (isRoot) while (last >= 0 && isScalar(pairs[last]!.key) && (pairs[last]!.key as { value: unknown }).value === 'sops') last--;
  let at: number;
  if (last < 0) {
    at = lineStart(text, first);
    if (!isBlank(text.slice(at, first))) return undefined;
  } else {
    at = entryEnd(text, contentEnd(pairs[last]!), column);
  }
  const out: string[] = [];
  emitMap(new Map([[key, value]]), column, layout, out);
  const entry = out.join('');
  return { start: at, end: at, text: at > 0 && text[at - 1] !== '\n' ? `\n${entry}` : entry };
}

/** The splice for setValue on the first document, or undefined when only the Document API can do it. */
export function planSet(text: string, docs: readonly Document.Parsed[], path: readonly PathSegment[], value: PlainValue, layout: YamlLayout): TextSplice | undefined {
  const doc = docs[0];
  if (!doc) return undefined;
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) {
    // an empty (or comments-only) single document: the new entry is the whole content
    const nested = nest(path, value);
    if (docs.length !== 1 || !(nested instanceof Map) || !text.split('\n').every((line) => /^\s*(?:#.*)?$/.test(line))) return undefined;
    const out: string[] = [];
    emitMap(nested, 0, layout, out);
    const entry = out.join('');
    return { start: text.length, end: text.length, text: text === '' || text.endsWith('\n') ? entry : `\n${entry}` };
  }
  if (!isBlock(root) || !isMap(root)) return undefined;
  const { steps, node } = walk(doc, path);
  if (steps.length === path.length) {
    const step = steps[steps.length - 1];
    return step && replaceEntry(text, step, value, layout);
  }
  if (!isBlock(node)) return undefined;
  const segment = path[steps.length];
  if (isMap(node)) {
    const nested = nest(path.slice(steps.length + 1), value);
    if (typeof segment !== 'string' || nested === undefined) return undefined;
    return addEntry(text, node, segment, nested, layout, steps.length === 0);
  }
  // appending to a list
  if (segment !== node.items.length || steps.length !== path.length - 1) return undefined;
  const lastItem = node.items[node.items.length - 1] as Node | null;
  const dash = dashOf(text, lastItem);
  if (dash === undefined) return undefined;
  const column = columnOf(text, dash);
  const at = entryEnd(text, Math.max(dash + 1, lastItem?.range?.[1] ?? 0), column);
  const items = emitSeqItems([value], column, layout);
  return { start: at, end: at, text: at > 0 && text[at - 1] !== '\n' ? `\n${items}` : items };
}

/** The splice for deleteValue of an existing path on the first document, or undefined. */
export function planDelete(text: string, docs: readonly Document.Parsed[], path: readonly PathSegment[], layout: YamlLayout): TextSplice | undefined {
  const doc = docs[0];
  if (!doc || !isBlock(doc.contents)) return undefined;
  const { steps } = walk(doc, path);
  const step = steps[steps.length - 1];
  if (!step || steps.length !== path.length || !isBlock(step.parent)) return undefined;
  const { parent } = step;
  if (parent.items.length === 1) {
    // the last entry goes: the collection becomes an empty one
    if (steps.length === 1) return undefined;
    return planSet(text, docs, path.slice(0, -1), isMap(parent) ? new Map() : [], layout);
  }
  if (step.pair) {
    const keyStart = (step.pair.key as Node | null)?.range?.[0];
    if (keyStart === undefined) return undefined;
    const column = columnOf(text, keyStart);
    const end = entryEnd(text, contentEnd(step.pair), column);
    const start = lineStart(text, keyStart);
    if (isBlank(text.slice(start, keyStart))) return { start, end, text: '' };
    // the first key of a map in a list item (`- key: value`): the next key moves up to the `-`
    const next = (parent.items as Pair[])[step.index + 1];
    return step.index === 0 ? moveUp(text, start, keyStart, end, (next?.key as Node | null | undefined)?.range?.[0]) : undefined;
  }
  const dash = dashOf(text, step.node);
  if (dash === undefined) return undefined;
  const start = lineStart(text, dash);
  const end = entryEnd(text, Math.max(dash + 1, step.node?.range?.[1] ?? 0), columnOf(text, dash));
  if (isBlank(text.slice(start, dash))) return { start, end, text: '' };
  // the first item of a list in a list (`- - item`): the next item moves up
  return step.index === 0 ? moveUp(text, start, dash, end, dashOf(text, parent.items[step.index + 1] as Node | null)) : undefined;
}

/**
 * Deletes the first entry of a collection that shares its line with a `- ` (from `entryStart` to
 * `entryEnd`): the next entry (at `nextStart`) takes its place after the indicators, and the
 * comment and blank lines between the two stay as they are, before that line.
 */
function moveUp(text: string, lineAt: number, entryStart: number, entryEnd: number, nextStart: number | undefined): TextSplice | undefined {
  if (nextStart === undefined) return undefined;
  const nextLine = lineStart(text, nextStart);
  if (nextLine < entryEnd || !isBlank(text.slice(nextLine, nextStart))) return undefined;
  return { start: lineAt, end: nextStart, text: text.slice(entryEnd, nextLine) + text.slice(lineAt, entryStart) };
}
