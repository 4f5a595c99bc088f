// The store-independent view of a secrets file. Each store (YAML, JSON, dotenv, INI, binary) keeps
// its own document so that layout and comments survive a rewrite; the cipher only ever sees leaves.

/** A `type:time` value from a file SOPS wrote; kept as its text so it round-trips exactly. */
export class TimeValue {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * A leaf value. `bigint` is a SOPS `int` and `number` is a SOPS `float`: keeping them distinct is
 * what lets an integral float (`3.0`) come back as a float. `Uint8Array` is raw bytes (the content
 * of a binary file, or a SOPS `bytes` value), which need not be valid UTF-8.
 */
export type ScalarValue = string | bigint | number | boolean | null | TimeValue | Uint8Array;

/** Plain data: maps keep key order (a JS object would move integer-like keys first). */
export type PlainValue = ScalarValue | PlainMap | PlainValue[];
export type PlainMap = Map<string, PlainValue>;

/** One step of a path into a document: a map key or a list index. */
export type PathSegment = string | number;

export interface Leaf {
  /** The map keys from the document root to the leaf (list levels add nothing): the AAD's source. */
  readonly keyPath: readonly string[];
  /** The value, or for a comment its text after `#`/`;` (leading space kept). */
  readonly value: ScalarValue;
  readonly isComment: boolean;
  /** Comments active at this leaf, outermost level first (for the comment-regex selection rules). */
  readonly commentStack: readonly string[];
}

/** Returned by a leaf visitor: a replacement value, or undefined to keep the leaf. */
export type LeafVisitor = (leaf: Leaf) => ScalarValue | undefined;

export type StoreName = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

export interface StoreDocument {
  readonly store: StoreName;
  /**
   * Visits every leaf (values and comments) of every document in file order, which is also the
   * order of the MAC. The `sops` metadata entry is never visited.
   */
  mapLeaves(visit: LeafVisitor): void;
  /** The `sops` metadata as plain data (flattened stores rebuild the tree), or undefined. */
  readMetadata(): PlainMap | undefined;
  /** Replaces the `sops` metadata (added last in every document, as SOPS does). */
  writeMetadata(metadata: PlainMap): void;
  removeMetadata(): void;
  /** Value at a path in the first document, or undefined when absent. */
  getValue(path: readonly PathSegment[]): PlainValue | undefined;
  /** Sets a value in the first document, creating parent maps as needed. */
  setValue(path: readonly PathSegment[], value: PlainValue): void;
  /** Removes a value from the first document; false when the path does not exist. */
  deleteValue(path: readonly PathSegment[]): boolean;
  /** Every document as plain data, without the `sops` entry. */
  toPlain(): PlainValue[];
  serialize(): string;
  clone(): StoreDocument;
}
