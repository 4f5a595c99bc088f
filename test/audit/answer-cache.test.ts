// The stored answers of `coffer log FILE` (.git/coffer/answers/): every input of the key changes it,
// damaged and foreign files are not believed, few answers are kept per key, and a record extended
// by new single-parent commits equals the walk at the new head.
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerKey, type FileHistoryRecord, listAnswerHeads, readAnswer, writeAnswer } from '../../src/audit/answer-cache.js';
import { extendFileHistory, readFileHistoryRecord } from '../../src/audit/file-history.js';
import { openRepository } from '../../src/git/repository.js';
import { keyRingFor, makeTestKey, type TestKey } from '../helpers/keys.js';
import { createTestRepo, SecretsWriter, type TestRepo } from '../git/repo.js';

const FILE = 'secrets/app.yaml';
const isSecretPath = (path: string) => path.startsWith('secrets/');
const record = (head: string): FileHistoryRecord => ({ head, file: FILE, tracked: [FILE], secretPaths: [FILE], events: [], renames: [], revisions: [], tips: { [FILE]: '' }, pgp: false, ssh: false });

describe('answer keys and files', () => {
  const gitdir = mkdtempSync(join(tmpdir(), 'coffer-answers-'));
  afterAll(() => rmSync(gitdir, { recursive: true, force: true }));
  const base = { file: FILE, policy: { kind: 'coffer', path: '/repo/coffer.yaml', bytes: new TextEncoder().encode('version: 1\n') }, shallow: [] };

  it('every input of the key changes it; the order of shallow commits does not', () => {
    const key = answerKey(base);
    const variants = [
      { ...base, file: 'secrets/other.yaml' },
      { ...base, policy: { ...base.policy, kind: 'sops' } },
      { ...base, policy: { ...base.policy, path: '/elsewhere/coffer.yaml' } },
      { ...base, policy: { ...base.policy, bytes: new TextEncoder().encode('version: 1\n\n') } },
      // bytes that are not UTF-8 still tell apart
      { ...base, policy: { ...base.policy, bytes: new Uint8Array([0xff, 0xfe]) } },
      { file: FILE, shallow: [] },
      { ...base, shallow: ['a'.repeat(40)] },
    ];
    const others = variants.map((variant) => answerKey(variant));
    expect(answerKey({ ...base, policy: { ...base.policy, bytes: new Uint8Array([0xff, 0xfd]) } }).source).not.toBe(others[4]!.source);
    for (const other of others) {
      expect(other.source).not.toBe(key.source);
      expect(other.name).not.toBe(key.name);
    }
    expect(answerKey({ ...base, shallow: ['b'.repeat(40), 'a'.repeat(40)] })).toEqual(answerKey({ ...base, shallow: ['a'.repeat(40), 'b'.repeat(40)] }));
  });

  it('reads back what it wrote, believes no other key or head, and keeps the newest few per key', () => {
    const key = answerKey(base);
    const other = answerKey({ ...base, file: 'secrets/other.yaml' });
    writeAnswer(gitdir, record('1'.repeat(40)), key, { [FILE]: 'prod' });
    expect(readAnswer(gitdir, key, '1'.repeat(40))).toMatchObject({ head: '1'.repeat(40), environments: { [FILE]: 'prod' } });
    expect(readAnswer(gitdir, key, '2'.repeat(40))).toBeUndefined();
    // a file of another key put under this key's name
    const dir = join(gitdir, 'coffer', 'answers');
    writeAnswer(gitdir, record('3'.repeat(40)), other, {});
    fs.copyFileSync(join(dir, `${other.name}-${'3'.repeat(40)}.json`), join(dir, `${key.name}-${'3'.repeat(40)}.json`));
    expect(readAnswer(gitdir, key, '3'.repeat(40))).toBeUndefined();
    writeFileSync(join(dir, `${key.name}-${'4'.repeat(40)}.json`), '{"format":');
    expect(readAnswer(gitdir, key, '4'.repeat(40))).toBeUndefined();
    for (let index = 0; index < 12; index++) {
      const head = index.toString(16).padStart(40, 'a');
      writeAnswer(gitdir, record(head), key, {});
      const time = new Date(Date.now() - (12 - index) * 1000);
      fs.utimesSync(join(dir, `${key.name}-${head}.json`), time, time);
    }
    const heads = listAnswerHeads(gitdir, key);
    expect(heads).toHaveLength(8);
    expect(heads).toContain((11).toString(16).padStart(40, 'a'));
    expect(listAnswerHeads(gitdir, other)).toEqual(['3'.repeat(40)]);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('extendFileHistory', () => {
  let repo: TestRepo;
  let alice: TestKey;
  const heads: string[] = [];

  beforeAll(async () => {
    alice = await makeTestKey();
    const writer = new SecretsWriter(keyRingFor(alice));
    const v1 = await writer.encrypt(FILE, 'db: p1\napi: k1\n', [alice]);
    const v2 = await writer.edit(FILE, v1, { db: 'p2' });
    const v3 = await writer.reEncryptAll(FILE, v2);
    const v4 = await writer.rotate(FILE, v3);
    repo = await createTestRepo();
    const at = (spec: Parameters<TestRepo['commit']>[0]) => heads.push(repo.commit(spec));
    at({ author: 'Alice <alice@example.com>', date: '2024-01-01T10:00:00Z', files: { [FILE]: v1 } });
    at({ author: 'Bob <bob@example.com>', date: '2024-01-02T10:00:00Z', files: { [FILE]: v2 } });
    at({ author: 'Bob <bob@example.com>', date: '2024-01-03T10:00:00Z', files: { 'README.md': 'x\n' } });
    at({ author: 'Bob <bob@example.com>', date: '2024-01-04T10:00:00Z', files: { [FILE]: v3 } });
    at({ author: 'Carol <carol@example.com>', date: '2024-01-05T10:00:00Z', files: { [FILE]: 'plain: oops\n' } });
    at({ author: 'Carol <carol@example.com>', date: '2024-01-06T10:00:00Z', files: { [FILE]: v4 } });
    at({ author: 'Carol <carol@example.com>', date: '2024-01-07T10:00:00Z', files: { [FILE]: null } });
    at({ author: 'Carol <carol@example.com>', date: '2024-01-08T10:00:00Z', files: { [FILE]: v4 } });
  });
  afterAll(() => repo?.dispose());

  it('from any earlier head, equals the walk at the new head until the file comes back into being', async () => {
    const repository = await openRepository({ fs, dir: repo.dir });
    const walks = await Promise.all(heads.map((head) => readFileHistoryRecord(repository, FILE, { ref: head, isSecretPath })));
    for (let from = 0; from < heads.length; from++) {
      for (let to = from + 1; to < heads.length; to++) {
        const extended = await extendFileHistory(repository, heads[to]!, new Set([heads[from]!]), () => walks[from]);
        // the last commit brings the deleted file back: only the walk can tell a re-creation from a rename
        if (to === heads.length - 1) expect(extended, `${from} -> ${to}`).toBeUndefined();
        else expect(extended, `${from} -> ${to}`).toEqual(walks[to]);
      }
    }
  });

  it('declines a merge, an unrelated head and the head itself', async () => {
    const repository = await openRepository({ fs, dir: repo.dir });
    const first = await readFileHistoryRecord(repository, FILE, { ref: heads[0]!, isSecretPath });
    repo.git(['checkout', '-q', '-b', 'side', heads[1]!]);
    const side = repo.commit({ author: 'Dan <dan@example.com>', date: '2024-02-01T10:00:00Z', files: { 'other.txt': 'y\n' } });
    repo.git(['checkout', '-q', 'main']);
    const merge = repo.commit({ author: 'Dan <dan@example.com>', date: '2024-02-02T10:00:00Z', merge: 'side' });
    expect(await extendFileHistory(repository, merge, new Set([heads[0]!]), () => first)).toBeUndefined();
    expect(await extendFileHistory(repository, side, new Set([heads[2]!]), () => first)).toBeUndefined();
    expect(await extendFileHistory(repository, heads[0]!, new Set([heads[0]!]), () => first)).toBeUndefined();
  });
});
