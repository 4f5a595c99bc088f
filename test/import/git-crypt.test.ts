// Which files git-crypt encrypts: a directory listing (one read of each .gitattributes, shared by
// every file) gives the same rule for each file as asking for that file alone.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGitCryptRule, listGitCryptFiles } from '../../src/import/git-crypt.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'coffer-git-crypt-'));
  await mkdir(join(root, '.git'));
  await mkdir(join(root, 'secrets', 'public'), { recursive: true });
  await writeFile(join(root, '.gitattributes'), '*.md text\nsecrets/** filter=git-crypt diff=git-crypt\n');
  await writeFile(join(root, 'secrets', 'public', '.gitattributes'), '*.txt -filter\n');
  await writeFile(join(root, 'secrets', 'app.env'), 'A=1\n');
  await writeFile(join(root, 'secrets', 'locked.bin'), Buffer.concat([Buffer.from('\0GITCRYPT\0'), Buffer.alloc(64, 7)]));
  await writeFile(join(root, 'secrets', 'empty.env'), '');
  await writeFile(join(root, 'secrets', 'public', 'readme.txt'), 'hello\n');
  await writeFile(join(root, 'secrets', 'public', 'key.pem'), 'pem\n');
  await writeFile(join(root, 'notes.md'), '# notes\n');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('git-crypt rules', () => {
  it('a listing gives each file the rule findGitCryptRule gives it alone, deeper files overriding', async () => {
    const listed = await listGitCryptFiles(root);
    expect(listed.map((file) => [file.path, `${file.rule.attributesFile}:${file.rule.line}`, file.locked])).toEqual([
      ['secrets/app.env', '.gitattributes:2', false],
      ['secrets/empty.env', '.gitattributes:2', false],
      ['secrets/locked.bin', '.gitattributes:2', true],
      ['secrets/public/key.pem', '.gitattributes:2', false],
    ]);
    for (const file of listed) expect(await findGitCryptRule(join(root, file.path))).toEqual(file.rule);
    expect(await findGitCryptRule(join(root, 'secrets', 'public', 'readme.txt'))).toBeUndefined();
    expect(await findGitCryptRule(join(root, 'notes.md'))).toBeUndefined();
  });
});
