// The `files` input: one path or glob per line or comma (`secrets/prod.yaml`, `secrets/**/*.yaml`,
// `deploy/{api,web}.env`), relative to the working directory. Globs use coffer.yaml's syntax and
// only walk below their literal leading directories; `.git` and `node_modules` are never entered.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CofferError } from '../../src/errors.js';
import { GlobSyntaxError, globToRegExp } from '../../src/policy/glob.js';

const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules']);

export interface ExpandedFiles {
  /** Relative paths with `/`, in input order, each glob's matches sorted, no duplicates. */
  files: string[];
  /** Paths that do not exist and globs that matched no file. */
  unmatched: string[];
}

async function walk(root: string, directory: string, out: string[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(join(root, directory), { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = directory === '' ? entry.name : `${directory}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRECTORIES.has(entry.name)) await walk(root, path, out);
    } else if (entry.isFile()) out.push(path);
  }
}

/** One entry per line or comma (commas inside `{a,b}` belong to the glob); blank lines and `#` comments dropped. */
export function splitList(text: string): string[] {
  const entries: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of text) {
    if (char === '{') depth++;
    else if (char === '}' && depth > 0) depth--;
    if (char === '\n' || (char === ',' && depth === 0)) {
      entries.push(current);
      current = '';
    } else current += char;
  }
  entries.push(current);
  return entries.map((entry) => entry.trim()).filter((entry) => entry !== '' && !entry.startsWith('#'));
}

export async function expandFiles(patterns: readonly string[], cwd: string): Promise<ExpandedFiles> {
  const files: string[] = [];
  const unmatched: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    if (!seen.has(path)) {
      seen.add(path);
      files.push(path);
    }
  };
  for (const raw of patterns) {
    const pattern = raw.replace(/^\.\//, '');
    if (!/[*?[{]/.test(pattern)) {
      if (existsSync(join(cwd, pattern))) add(pattern);
      else unmatched.push(pattern);
      continue;
    }
    let matcher: RegExp;
    try {
      matcher = globToRegExp(pattern);
    } catch (error) {
      if (error instanceof GlobSyntaxError) throw new CofferError('USAGE', `files: ${pattern.slice(0, 80)}: ${error.message}`);
      throw error;
    }
    const segments = pattern.split('/');
    const literal = segments.slice(0, segments.findIndex((segment) => /[*?[{]/.test(segment))).join('/');
    const found: string[] = [];
    await walk(cwd, literal, found);
    const matches = found.filter((path) => matcher.test(path)).sort();
    if (matches.length === 0) unmatched.push(pattern);
    for (const path of matches) add(path);
  }
  return { files, unmatched };
}
