// Key paths: the AAD form SOPS binds each value to, and the two ways users write a path on the
// command line (sops's `["a"]["b"][0]` and coffer's dotted `a.b.0` with `\.` escaping).
import { CofferError } from '../errors.js';
import type { PathSegment } from './tree.js';

/** The additional authenticated data of a value: every map key on its path followed by `:`. */
export function additionalDataOf(keyPath: readonly string[]): string {
  let aad = '';
  for (const key of keyPath) aad += `${key}:`;
  return keyPath.length === 0 ? ':' : aad;
}

/**
 * A path as the user wrote it. Dotted segments of digits are ambiguous (list index or map key
 * `"0"`) until they meet the document, so they are kept as `{ text }` and resolved there.
 */
export type UserPathSegment = PathSegment | { readonly text: string };

function invalidPath(reason: string): CofferError {
  return new CofferError('INVALID_KEY_PATH', `invalid key path: ${reason}`, {
    hints: ['write paths as a.b.0 (escape a dot in a key as \\.) or as ["a"]["b"][0]'],
  });
}

function parseBracketPath(text: string): UserPathSegment[] {
  const segments: UserPathSegment[] = [];
  let at = 0;
  while (at < text.length) {
    if (text[at] !== '[') throw invalidPath(`expected "[" at character ${at + 1}`);
    at += 1;
    const quote = text[at];
    if (quote === '"' || quote === "'") {
      let key = '';
      at += 1;
      while (at < text.length && text[at] !== quote) {
        if (text[at] === '\\' && at + 1 < text.length) at += 1;
        key += text[at];
        at += 1;
      }
      if (text[at] !== quote) throw invalidPath('unterminated quoted key');
      at += 1;
      segments.push(key);
    } else {
      const digits = /^\d+/.exec(text.slice(at))?.[0];
      if (!digits) throw invalidPath(`expected a quoted key or a list index at character ${at + 1}`);
      segments.push(Number(digits));
      at += digits.length;
    }
    if (text[at] !== ']') throw invalidPath(`expected "]" at character ${at + 1}`);
    at += 1;
  }
  return segments;
}

function parseDottedPath(text: string): UserPathSegment[] {
  const segments: string[] = [];
  let current = '';
  for (let at = 0; at < text.length; at += 1) {
    const char = text[at];
    if (char === '\\' && (text[at + 1] === '.' || text[at + 1] === '\\')) {
      current += text[at + 1];
      at += 1;
    } else if (char === '.') {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  if (segments.some((segment) => segment === '')) throw invalidPath('empty segment (two dots in a row, or a leading or trailing dot)');
  return segments.map((segment): UserPathSegment => (/^\d+$/.test(segment) ? { text: segment } : segment));
}

/** Parses a key path as given to `get`, `set`, `unset` and `--extract`. */
export function parseKeyPath(text: string): UserPathSegment[] {
  if (text.trim() === '') throw invalidPath('the path is empty');
  return text.startsWith('[') ? parseBracketPath(text) : parseDottedPath(text);
}

/** The path in dotted form for messages and JSON output. */
export function formatKeyPath(path: readonly UserPathSegment[]): string {
  return path
    .map((segment) => (typeof segment === 'object' ? segment.text : String(segment).replaceAll('\\', '\\\\').replaceAll('.', '\\.')))
    .join('.');
}

/**
 * Resolves ambiguous dotted segments against a document: digits index a list when the value at
 * that point is a list, and are a map key otherwise.
 */
export function resolveKeyPath(path: readonly UserPathSegment[], isListAt: (prefix: readonly PathSegment[]) => boolean): PathSegment[] {
  const resolved: PathSegment[] = [];
  for (const segment of path) {
    if (typeof segment === 'object') resolved.push(isListAt(resolved) ? Number(segment.text) : segment.text);
    else resolved.push(segment);
  }
  return resolved;
}
