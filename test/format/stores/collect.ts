// Test helpers for the store tests: the leaves a document visits, as comparable records; the error a parse throws.
import { CofferError } from '../../../src/errors.js';
import type { Store } from '../../../src/format/stores/index.js';
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

/** The CofferError that parsing `text` as `file` throws; fails the test when it parses. */
export function parseError(store: Store, text: string, file: string): CofferError {
  try {
    store.parse(text, file);
  } catch (error) {
    if (error instanceof CofferError) return error;
    throw error;
  }
  throw new Error('expected a parse error');
}
