// Adding an imported plaintext file to .gitignore, so the encrypted copy is what gets committed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';

/** A .gitignore line that matches exactly this file (anchored, special characters escaped). */
export function gitignoreLine(relativePath: string): string {
  return `/${relativePath.replace(/([\\*?[\]!# ])/g, '\\$1')}`;
}

/** Appends the path to `dir/.gitignore` unless a line already names it; returns whether it wrote. */
export async function addToGitignore(dir: string, relativePath: string): Promise<boolean> {
  const path = join(dir, '.gitignore');
  const text = await readFile(path, 'utf8').catch(() => '');
  const line = gitignoreLine(relativePath);
  const existing = new Set(text.split('\n').map((entry) => entry.trim()));
  if (existing.has(line) || existing.has(relativePath) || existing.has(line.slice(1))) return false;
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeFileAtomic(path, `${text}${separator}${line}\n`);
  return true;
}
