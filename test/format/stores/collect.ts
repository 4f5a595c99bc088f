// Test helper: the leaves a document visits, as comparable records.
import type { StoreDocument } from '../../../src/format/tree.js';

export interface SeenLeaf {
  path: string;
  value: unknown;
  comment: boolean;
  stack: readonly string[];
}

export function collectLeaves(document: StoreDocument): SeenLeaf[] {
  const seen: SeenLeaf[] = [];
  document.mapLeaves((leaf) => {
    seen.push({ path: leaf.keyPath.join(':'), value: leaf.value, comment: leaf.isComment, stack: leaf.commentStack });
    return undefined;
  });
  return seen;
}

/** Replaces every value (not comments) for which `pick` returns something. */
export function replaceLeaves(document: StoreDocument, pick: (path: string, value: unknown) => unknown): void {
  document.mapLeaves((leaf) => {
    if (leaf.isComment) return undefined;
    return pick(leaf.keyPath.join(':'), leaf.value) as never;
  });
}
