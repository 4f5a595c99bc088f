// Decrypt mode's library half: every file decrypted and MAC-checked in memory, all or nothing, so
// a wrong identity or a tampered file fails the step before a single value is exported.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CofferError } from '../../src/errors.js';
import type { KeyRing } from '../../src/file/key-ring.js';
import { openFile } from '../../src/file/secrets-file.js';
import { detectStore } from '../../src/format/stores/index.js';
import { type Leaf, listLeaves } from './selection.js';

/** The values of each file (relative paths), in file order. */
export async function decryptLeaves(files: readonly string[], cwd: string, keys: KeyRing): Promise<Leaf[]> {
  const leaves: Leaf[] = [];
  for (const file of files) {
    let content: Uint8Array;
    try {
      content = await readFile(join(cwd, file));
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new CofferError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', `cannot read ${file}: ${code ?? 'unknown error'}`, { cause, data: { file } });
    }
    const opened = await openFile({ file, store: detectStore(file), content }, keys);
    const plain = opened.plain.toPlain()[0] ?? new Map();
    const encrypted = opened.encrypted.toPlain()[0];
    leaves.push(...listLeaves(file, plain, encrypted));
  }
  return leaves;
}
