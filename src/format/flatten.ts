// The flattened form of the `sops` metadata used by the dotenv (`sops_` prefix) and INI (`[sops]`
// section) stores: nested map keys joined with `__map_`, list indexes with `__list_<i>`.
import { CofferError } from '../errors.js';
import type { PlainMap, PlainValue } from './tree.js';
import { formatFloat } from './values.js';

const MAP_SEPARATOR = '__map_';
const LIST_SEPARATOR = '__list_';

/** Text of a metadata scalar as Go's `fmt` prints it (`true`, `2`). */
function formatMetadataScalar(value: PlainValue, key: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return formatFloat(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return '';
  if (value instanceof Uint8Array) {
    throw new CofferError('METADATA_INVALID', `metadata key ${key} holds raw bytes`);
  }
  return String(value);
}

function flattenInto(path: string, value: PlainValue, out: Map<string, string>): void {
  if (value instanceof Map) {
    for (const [key, child] of value) flattenInto(path + MAP_SEPARATOR + key, child, out);
  } else if (Array.isArray(value)) {
    for (const [index, child] of value.entries()) flattenInto(path + LIST_SEPARATOR + index, child, out);
  } else {
    out.set(path, formatMetadataScalar(value, path));
  }
}

/**
 * Flattens the metadata map into `prefix + key` entries, sorted by key as SOPS 3.13 writes them.
 * Empty maps and lists leave no entry (SOPS 3.10+ omits empty key lists anyway).
 */
export function flattenMetadata(map: PlainMap, prefix: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [key, value] of map) flattenInto(prefix + key, value, entries);
  const sorted = [...entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(sorted.map((key) => [key, entries.get(key) ?? '']));
}

type PathStep = { kind: 'map'; key: string } | { kind: 'list'; index: number };

function splitFlatKey(flatKey: string): { head: string; steps: PathStep[] } {
  const separator = /__map_|__list_(\d+)/g;
  let head: string | undefined;
  let pending = false;
  const steps: PathStep[] = [];
  let match: RegExpExecArray | null = separator.exec(flatKey);
  let last = 0;
  while (match) {
    const text = flatKey.slice(last, match.index);
    if (head === undefined) head = text;
    else if (pending) steps.push({ kind: 'map', key: text });
    else if (text !== '') return { head: flatKey, steps: [] }; // text after a list index: not ours
    pending = match[1] === undefined;
    if (!pending) steps.push({ kind: 'list', index: Number(match[1]) });
    last = separator.lastIndex;
    match = separator.exec(flatKey);
  }
  const rest = flatKey.slice(last);
  if (head === undefined) return { head: flatKey, steps: [] };
  if (pending) steps.push({ kind: 'map', key: rest });
  else if (rest !== '') return { head: flatKey, steps: [] };
  return { head, steps };
}

type Draft = { kind: 'map' | 'list'; children: Map<string | number, Draft> } | { kind: 'leaf'; value: string };

function invalid(flatKey: string): CofferError {
  return new CofferError('METADATA_INVALID', `flattened metadata key ${flatKey} conflicts with another key`, {
    data: { key: flatKey },
  });
}

function childDraft(parent: Draft, step: PathStep, next: PathStep | undefined, flatKey: string, leaf?: string): Draft {
  if (parent.kind === 'leaf' || parent.kind !== step.kind) throw invalid(flatKey);
  const key = step.kind === 'map' ? step.key : step.index;
  const child = parent.children.get(key);
  if (child) {
    if (leaf !== undefined || child.kind === 'leaf') throw invalid(flatKey);
    return child;
  }
  const made: Draft = leaf !== undefined ? { kind: 'leaf', value: leaf } : { kind: next?.kind ?? 'map', children: new Map() };
  parent.children.set(key, made);
  return made;
}

function finishDraft(draft: Draft, where: string): PlainValue {
  if (draft.kind === 'leaf') return draft.value;
  if (draft.kind === 'map') {
    const map: PlainMap = new Map();
    for (const [key, child] of draft.children) map.set(String(key), finishDraft(child, where + MAP_SEPARATOR + key));
    return map;
  }
  const list: PlainValue[] = [];
  for (let index = 0; index < draft.children.size; index++) {
    const child = draft.children.get(index);
    if (!child) {
      throw new CofferError('METADATA_INVALID', `flattened metadata list ${where} is missing item ${index}`, {
        data: { key: where, index },
      });
    }
    list.push(finishDraft(child, where + LIST_SEPARATOR + index));
  }
  return list;
}

/**
 * Rebuilds the metadata map from flattened entries (only keys starting with `prefix` are used).
 * Values stay text: callers parse `shamir_threshold` and `mac_only_encrypted` themselves.
 */
export function unflattenMetadata(entries: Iterable<readonly [string, string]>, prefix: string): PlainMap {
  const root: Draft = { kind: 'map', children: new Map() };
  for (const [flatKey, value] of entries) {
    if (!flatKey.startsWith(prefix)) continue;
    const { head, steps } = splitFlatKey(flatKey.slice(prefix.length));
    const path: PathStep[] = [{ kind: 'map', key: head }, ...steps];
    let node: Draft = root;
    path.forEach((step, index) => {
      const isLast = index === path.length - 1;
      node = childDraft(node, step, path[index + 1], flatKey, isLast ? value : undefined);
    });
  }
  return finishDraft(root, prefix) as PlainMap;
}
