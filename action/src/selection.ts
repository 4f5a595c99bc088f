// The `keys` input: which values of the decrypted files to export, and under which names.
// One selector per line or comma: `db.password` (a value), `db` (every value under a map),
// `stripe.*` / `**.password` (globs over dotted key paths: `*` within one key, `**` across keys),
// and `db.password=DB_PASSWORD` to rename. Default names are the key path in upper case with
// every other character turned into `_` (`db.password` -> `DB_PASSWORD`), after `prefix`.
import { CofferError } from '../../src/errors.js';
import { formatKeyPath } from '../../src/format/key-path.js';
import type { PlainValue } from '../../src/format/tree.js';
import { scalarText } from '../../src/format/values.js';

/** One decrypted value with where it came from. */
export interface Leaf {
  file: string;
  keyPath: string;
  value: string;
  /** Whether the file stores it encrypted (values left in clear by the selection rule are not). */
  encrypted: boolean;
  /** Booleans and nulls: masked only when exported (masking `true` would blank every log line holding it). */
  trivial: boolean;
}

export interface Selector {
  text: string;
  pattern: RegExp;
  /** Exact key path (no glob): also selects everything below a map. */
  exact: string | undefined;
  rename: string | undefined;
}

export interface ExportedValue {
  name: string;
  value: string;
  file: string;
  keyPath: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Every scalar of a decrypted document in order; `encrypted` is the same document as stored. */
export function listLeaves(file: string, plain: PlainValue, encrypted: PlainValue | undefined): Leaf[] {
  const leaves: Leaf[] = [];
  const walk = (value: PlainValue, stored: PlainValue | undefined, path: (string | number)[]) => {
    if (value instanceof Map) {
      for (const [key, child] of value) walk(child, stored instanceof Map ? stored.get(key) : undefined, [...path, key]);
    } else if (Array.isArray(value)) {
      value.forEach((child, index) => {
        walk(child, Array.isArray(stored) ? stored[index] : undefined, [...path, index]);
      });
    } else {
      leaves.push({
        file,
        keyPath: formatKeyPath(path),
        value: scalarText(value),
        encrypted: typeof stored === 'string' && stored.startsWith('ENC['),
        trivial: value === null || typeof value === 'boolean',
      });
    }
  };
  walk(plain, encrypted, []);
  return leaves;
}

function keyGlobToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index]!;
    if (char === '*' && glob[index + 1] === '*') {
      source += '.*';
      index++;
    } else if (char === '*') source += '(?:\\\\.|[^.])*';
    else if (char === '?') source += '[^.]';
    else if (char === '\\' && glob[index + 1] === '.') {
      source += '\\\\\\.';
      index++;
    } else source += /[\\^$.+()[\]{}|/]/.test(char) ? `\\${char}` : char;
  }
  return new RegExp(`^${source}$`);
}

/** Parses the `keys` input; an empty input selects every value. */
export function parseSelectors(text: string): Selector[] {
  const entries = text
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'));
  return entries.map((entry) => {
    const equals = entry.lastIndexOf('=');
    const path = (equals < 0 ? entry : entry.slice(0, equals)).trim();
    const rename = equals < 0 ? undefined : entry.slice(equals + 1).trim();
    if (path === '') throw new CofferError('USAGE', `keys: "${entry.slice(0, 60)}" has no key path before =`, { hints: ['write PATH=NAME, e.g. db.password=DB_PASSWORD'] });
    if (rename !== undefined && !NAME.test(rename)) {
      throw new CofferError('USAGE', `keys: "${rename.slice(0, 60)}" is not a valid variable name`, { hints: ['names start with a letter or _ and hold letters, digits and _'] });
    }
    const glob = /[*?]/.test(path);
    return { text: entry, pattern: keyGlobToRegExp(path), exact: glob ? undefined : path, rename };
  });
}

/** `db.password` -> `DB_PASSWORD`. */
export function defaultName(keyPath: string): string {
  const name = keyPath
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

export interface Selection {
  values: ExportedValue[];
  /** Selectors that matched no value in any file. */
  unmatched: string[];
}

/** Applies the selectors to every file's values; names must be unique across files. */
export function selectValues(leaves: readonly Leaf[], selectors: readonly Selector[], prefix: string): Selection {
  const chosen: { leaf: Leaf; rename: string | undefined }[] = [];
  const unmatched: string[] = [];
  if (selectors.length === 0) {
    for (const leaf of leaves) chosen.push({ leaf, rename: undefined });
  } else {
    const taken = new Set<Leaf>();
    for (const selector of selectors) {
      const matches = leaves.filter((leaf) => selector.pattern.test(leaf.keyPath) || (selector.exact !== undefined && leaf.keyPath.startsWith(`${selector.exact}.`)));
      if (matches.length === 0) unmatched.push(selector.text);
      if (selector.rename !== undefined && matches.length > 1) {
        const files = new Set(matches.map((leaf) => leaf.file));
        throw new CofferError('USAGE', `keys: ${selector.text} selects ${matches.length} values${files.size > 1 ? ` in ${files.size} files` : ''}; a new name needs exactly one`, {
          hints: ['name one value per line, or drop =NAME to use the default names'],
        });
      }
      for (const leaf of matches) {
        if (taken.has(leaf) && selector.rename === undefined) continue;
        taken.add(leaf);
        chosen.push({ leaf, rename: selector.rename });
      }
    }
  }
  const values: ExportedValue[] = [];
  const byName = new Map<string, ExportedValue>();
  for (const { leaf, rename } of chosen) {
    const name = `${prefix}${rename ?? defaultName(leaf.keyPath)}`;
    if (!NAME.test(name)) {
      throw new CofferError('USAGE', `${leaf.file}: ${leaf.keyPath} cannot be exported as "${name.slice(0, 60)}"`, {
        hints: ['rename it in the keys input: PATH=NAME', 'prefix must start with a letter or _'],
        data: { file: leaf.file, keyPath: leaf.keyPath },
      });
    }
    const previous = byName.get(name);
    if (previous) {
      throw new CofferError('USAGE', `${name} would be exported twice: ${previous.file} (${previous.keyPath}) and ${leaf.file} (${leaf.keyPath})`, {
        hints: ['rename one of them in the keys input (PATH=NAME), or decrypt the files in separate steps with a prefix'],
        data: { file: leaf.file, keyPath: leaf.keyPath },
      });
    }
    const exported = { name, value: leaf.value, file: leaf.file, keyPath: leaf.keyPath };
    byName.set(name, exported);
    values.push(exported);
  }
  return { values, unmatched };
}
