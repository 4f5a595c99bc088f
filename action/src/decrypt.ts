// Decrypt mode's library half: every file decrypted and MAC-checked in memory, all or nothing, so
// a wrong identity or a tampered file fails the step before a single value is exported.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CofferError, NoIdentityMatchError } from '../../src/errors.js';
import type { KeyRing } from '../../src/file/key-ring.js';
import { openFile } from '../../src/file/secrets-file.js';
import { detectStore } from '../../src/format/stores/index.js';
import { type Leaf, listLeaves } from './selection.js';

/** The values of each file (relative paths), in file order; `identity` names the key in messages. */
export async function decryptLeaves(files: readonly string[], cwd: string, keys: KeyRing, identity: string): Promise<Leaf[]> {
  const leaves: Leaf[] = [];
  for (const file of files) {
    let content: Uint8Array;
    try {
      content = await readFile(join(cwd, file));
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new CofferError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', `cannot read ${file}: ${code ?? 'unknown error'}`, { cause, data: { file } });
    }
    let opened: Awaited<ReturnType<typeof openFile>>;
    try {
      opened = await openFile({ file, store: detectStore(file), content }, keys);
    } catch (error) {
      if (!(error instanceof NoIdentityMatchError)) throw error;
      throw new CofferError('NO_MATCHING_IDENTITY', `${file}: ${identity} cannot decrypt this file: its data key is wrapped for ${error.recipients.join(', ') || 'no age or PGP recipient'}`, {
        hints: [
          "put the identity of one of the file's recipients in the secret passed as identity",
          "or add this identity's public key to the file's recipients (coffer.yaml, then `coffer updatekeys`) and commit",
        ],
        data: { file, recipients: error.recipients },
        cause: error,
      });
    }
    const plain = opened.plain.toPlain()[0] ?? new Map();
    const encrypted = opened.encrypted.toPlain()[0];
    leaves.push(...listLeaves(file, plain, encrypted));
  }
  return leaves;
}
