// git-crypt repositories: which files `.gitattributes` sends through `filter=git-crypt`, and whether
// the working tree is unlocked (then those files are plain bytes and import reads them as is).
import type { Dirent } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { globToRegExp } from '../policy/glob.js';
import { findRepositoryRoot } from '../verify/sources.js';

/** The first bytes of a file git-crypt encrypted (a locked working tree). */
const LOCKED_HEADER = Buffer.from('\0GITCRYPT\0');

export interface GitCryptRule {
  /** `.gitattributes` path, relative to the repository root with `/`. */
  attributesFile: string;
  line: number;
  pattern: string;
  /** False for `-filter` / `!filter` lines that take a file back out. */
  encrypts: boolean;
}

export function isGitCryptLocked(content: Uint8Array): boolean {
  return Buffer.from(content.subarray(0, LOCKED_HEADER.length)).equals(LOCKED_HEADER);
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

/** The `filter` rules of one `.gitattributes` text. */
export function parseGitAttributes(text: string, attributesFile: string): GitCryptRule[] {
  const rules: GitCryptRule[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [pattern, ...attributes] = line.split(/\s+/);
    if (!pattern) return;
    for (const attribute of attributes) {
      if (/^filter=git-crypt(-.+)?$/.test(attribute)) rules.push({ attributesFile, line: index + 1, pattern, encrypts: true });
      else if (attribute === '-filter' || attribute === '!filter' || (attribute.startsWith('filter=') && !attribute.startsWith('filter=git-crypt'))) {
        rules.push({ attributesFile, line: index + 1, pattern, encrypts: false });
      }
    }
  });
  return rules;
}

/** gitattributes matching: a pattern without `/` matches the name at any depth below its file. */
function matchesAttributePattern(pattern: string, pathFromAttributes: string): boolean {
  const anchored = pattern.startsWith('/') ? pattern.slice(1) : pattern;
  try {
    if (!pattern.includes('/')) return globToRegExp(anchored).test(pathFromAttributes.replace(/^.*\//, ''));
    return globToRegExp(anchored).test(pathFromAttributes);
  } catch {
    return false;
  }
}

async function readRules(root: string, dir: string): Promise<GitCryptRule[]> {
  const path = join(dir, '.gitattributes');
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? [] : parseGitAttributes(text, toPosix(relative(root, path)));
}

/** findGitCryptRule over one shared cache: each `.gitattributes` is read once however many files ask. */
function createRuleFinder(): (file: string) => Promise<GitCryptRule | undefined> {
  const rulesByDir = new Map<string, Promise<GitCryptRule[]>>();
  return async (file) => {
    const root = findRepositoryRoot(dirname(file));
    if (!root) return undefined;
    const dirs: string[] = [];
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      dirs.unshift(dir);
      if (dir === root || dirname(dir) === dir) break;
    }
    let decided: GitCryptRule | undefined;
    // Deeper .gitattributes files and later lines override earlier ones, as in git.
    for (const dir of dirs) {
      let rules = rulesByDir.get(dir);
      if (!rules) {
        rules = readRules(root, dir);
        rulesByDir.set(dir, rules);
      }
      const fromAttributes = toPosix(relative(dir, file));
      for (const rule of await rules) {
        if (matchesAttributePattern(rule.pattern, fromAttributes)) decided = rule;
      }
    }
    return decided?.encrypts ? decided : undefined;
  };
}

/** The rule that makes git-crypt encrypt `file` (an absolute path), or undefined. */
export function findGitCryptRule(file: string): Promise<GitCryptRule | undefined> {
  return createRuleFinder()(file);
}

/** The first bytes of a file, enough to tell a locked one. */
async function readHeader(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(LOCKED_HEADER.length), 0, LOCKED_HEADER.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Every file under `dir` that git-crypt encrypts, relative to `dir` with `/`. */
export async function listGitCryptFiles(dir: string): Promise<{ path: string; rule: GitCryptRule; locked: boolean }[]> {
  const found: { path: string; rule: GitCryptRule; locked: boolean }[] = [];
  const findRule = createRuleFinder();
  const walk = async (current: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git' && entry.name !== 'node_modules') await walk(path);
      } else if (entry.isFile() && entry.name !== '.gitattributes') {
        const rule = await findRule(path);
        if (!rule) continue;
        found.push({ path: toPosix(relative(dir, path)), rule, locked: isGitCryptLocked(await readHeader(path)) });
      }
    }
  };
  await walk(dir);
  return found;
}
