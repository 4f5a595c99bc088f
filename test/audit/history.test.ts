// Per-key history from a scripted repository: every event kind, renames, merges, SOPS-style
// re-encryption (keyless and with a key), a plaintext commit and a file that is not SOPS.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blameFile } from '../../src/audit/blame.js';
import { type KeyEvent, readSecretHistory, type SecretHistory } from '../../src/audit/history.js';
import { readFileHistory } from '../../src/audit/file-history.js';
import { filterEvents } from '../../src/audit/log.js';
import { openHistoryCache } from '../../src/git/history-cache.js';
import { openRepository } from '../../src/git/repository.js';
import { keyRingFor, makeTestKey, type TestKey } from '../helpers/keys.js';
import { createTestRepo, SecretsWriter, type TestRepo } from '../git/repo.js';

const compact = (events: KeyEvent[]) => events.map((event) => [event.date.slice(0, 10), event.author, event.file, event.keyPath ?? '*', event.event]);

describe('readSecretHistory', () => {
  let repo: TestRepo;
  let alice: TestKey;
  let bob: TestKey;
  let keyless: SecretHistory;
  let keyed: SecretHistory;

  beforeAll(async () => {
    alice = await makeTestKey();
    bob = await makeTestKey();
    const writer = new SecretsWriter(keyRingFor(alice, bob));
    const path = 'secrets/app.yaml';
    const v1 = await writer.encrypt(path, 'db:\n    password: p1\n    user: u1\napi: k1\n', [alice]);
    const v2 = await writer.edit(path, v1, { 'db.password': 'p2', token: 't1' });
    const v3 = await writer.edit(path, v2, { api: null });
    const v4 = await writer.setRecipients(path, v3, [alice, bob]);
    const v5 = await writer.reEncryptAll(path, v4);
    const v6 = await writer.reEncryptAll(path, v5, { 'db.user': 'u2' });
    const v7 = await writer.rotate(path, v6);
    const v8 = await writer.edit('secrets/prod.yaml', v7, { token: 't2' });
    const feature = await writer.edit('secrets/prod.yaml', v8, { 'db.password': 'p3' });
    const mainSide = await writer.edit('secrets/prod.yaml', v8, { token: 't3' });
    const merged = await writer.edit('secrets/prod.yaml', mainSide, { 'db.password': 'p3' });
    repo = await createTestRepo([
      { author: 'Alice <alice@example.com>', date: '2024-01-10T10:00:00Z', files: { [path]: v1, 'README.md': 'hello\n' } },
      { author: 'Bob <bob@example.com>', date: '2024-02-01T10:00:00Z', files: { [path]: v2 } },
      { author: 'Alice <alice@example.com>', date: '2024-03-01T10:00:00Z', files: { [path]: v3, 'notes.yaml': 'plain: true\n' } },
      { author: 'Alice <alice@example.com>', date: '2024-03-15T10:00:00Z', files: { [path]: v4 } },
      { author: 'Bob <bob@example.com>', date: '2024-04-01T10:00:00Z', files: { [path]: v5 } },
      { author: 'Bob <bob@example.com>', date: '2024-04-02T10:00:00Z', files: { [path]: v6 } },
      { author: 'Alice <alice@example.com>', date: '2024-05-01T10:00:00Z', files: { [path]: v7 } },
      { author: 'Bob <bob@example.com>', date: '2024-06-01T10:00:00Z', rename: [path, 'secrets/prod.yaml'], files: { 'secrets/prod.yaml': v8 } },
      { author: 'Carol <carol@example.com>', date: '2024-06-10T10:00:00Z', files: { 'secrets/leak.yaml': 'password: hunter2\n' } },
      { author: 'Carol <carol@example.com>', date: '2024-06-11T10:00:00Z', files: { 'secrets/leak.yaml': null } },
      { author: 'Bob <bob@example.com>', date: '2024-07-01T10:00:00Z', branch: 'feature', files: { 'secrets/prod.yaml': feature } },
      { author: 'Alice <alice@example.com>', date: '2024-07-02T10:00:00Z', branch: 'main', files: { 'secrets/prod.yaml': mainSide } },
      { author: 'Alice <alice@example.com>', date: '2024-07-03T10:00:00Z', merge: 'feature', files: { 'secrets/prod.yaml': merged } },
    ]);
    const repository = await openRepository({ fs, dir: repo.dir });
    const isSecretPath = (file: string) => file.startsWith('secrets/');
    keyless = await readSecretHistory(repository, { isSecretPath });
    keyed = await readSecretHistory(await openRepository({ fs, dir: repo.dir }), { isSecretPath, keys: keyRingFor(alice) });
  });
  afterAll(() => repo?.dispose());

  it('lists every event per key path without a key, following the rename', () => {
    expect(compact(keyless.events)).toEqual([
      ['2024-01-10', 'Alice', 'secrets/app.yaml', 'db.password', 'added'],
      ['2024-01-10', 'Alice', 'secrets/app.yaml', 'db.user', 'added'],
      ['2024-01-10', 'Alice', 'secrets/app.yaml', 'api', 'added'],
      ['2024-02-01', 'Bob', 'secrets/app.yaml', 'db.password', 'changed'],
      ['2024-02-01', 'Bob', 'secrets/app.yaml', 'token', 'added'],
      ['2024-03-01', 'Alice', 'secrets/app.yaml', 'api', 'removed'],
      ['2024-03-15', 'Alice', 'secrets/app.yaml', '*', 'recipients changed'],
      ['2024-04-01', 'Bob', 'secrets/app.yaml', 'db.password', 're-encrypted'],
      ['2024-04-01', 'Bob', 'secrets/app.yaml', 'db.user', 're-encrypted'],
      ['2024-04-01', 'Bob', 'secrets/app.yaml', 'token', 're-encrypted'],
      ['2024-04-02', 'Bob', 'secrets/app.yaml', 'db.password', 're-encrypted'],
      ['2024-04-02', 'Bob', 'secrets/app.yaml', 'db.user', 're-encrypted'],
      ['2024-04-02', 'Bob', 'secrets/app.yaml', 'token', 're-encrypted'],
      ['2024-05-01', 'Alice', 'secrets/app.yaml', '*', 'data key rotated'],
      ['2024-05-01', 'Alice', 'secrets/app.yaml', 'db.password', 're-encrypted'],
      ['2024-05-01', 'Alice', 'secrets/app.yaml', 'db.user', 're-encrypted'],
      ['2024-05-01', 'Alice', 'secrets/app.yaml', 'token', 're-encrypted'],
      ['2024-06-01', 'Bob', 'secrets/prod.yaml', 'token', 'changed'],
      ['2024-06-10', 'Carol', 'secrets/leak.yaml', '*', 'not encrypted'],
      ['2024-07-01', 'Bob', 'secrets/prod.yaml', 'db.password', 'changed'],
      ['2024-07-02', 'Alice', 'secrets/prod.yaml', 'token', 'changed'],
      // the merge wrote db.password with new ciphertext (not the feature branch's): keylessly, a change
      ['2024-07-03', 'Alice', 'secrets/prod.yaml', 'db.password', 'changed'],
    ]);
    const recipients = keyless.events.find((event) => event.event === 'recipients changed')!;
    expect(recipients.recipientsAdded).toEqual([bob.recipient]);
    expect(recipients.recipientsRemoved).toEqual([]);
    expect(keyless.events.find((event) => event.file === 'secrets/prod.yaml' && event.keyPath === 'token')?.renamedFrom).toBe('secrets/app.yaml');
    expect(keyless.renames.map((rename) => [rename.from, rename.to])).toEqual([['secrets/app.yaml', 'secrets/prod.yaml']]);
  });

  it('with a key, tells a real change from a re-encryption', () => {
    const april = compact(keyed.events.filter((event) => event.date.startsWith('2024-04') || event.date.startsWith('2024-05')));
    expect(april).toEqual([
      ['2024-04-01', 'Bob', 'secrets/app.yaml', 'db.password', 're-encrypted'],
      ['2024-04-01', 'Bob', 'secrets/app.yaml', 'db.user', 're-encrypted'],
      ['2024-04-01', 'Bob', 'secrets/app.yaml', 'token', 're-encrypted'],
      ['2024-04-02', 'Bob', 'secrets/app.yaml', 'db.password', 're-encrypted'],
      ['2024-04-02', 'Bob', 'secrets/app.yaml', 'db.user', 'changed'],
      ['2024-04-02', 'Bob', 'secrets/app.yaml', 'token', 're-encrypted'],
      ['2024-05-01', 'Alice', 'secrets/app.yaml', '*', 'data key rotated'],
      ['2024-05-01', 'Alice', 'secrets/app.yaml', 'db.password', 're-encrypted'],
      ['2024-05-01', 'Alice', 'secrets/app.yaml', 'db.user', 're-encrypted'],
      ['2024-05-01', 'Alice', 'secrets/app.yaml', 'token', 're-encrypted'],
    ]);
    // with a key, the merge's new ciphertext of the feature branch's value is no change of the merge's own
    expect(compact(keyed.events.filter((event) => event.date >= '2024-07'))).toEqual([
      ['2024-07-01', 'Bob', 'secrets/prod.yaml', 'db.password', 'changed'],
      ['2024-07-02', 'Alice', 'secrets/prod.yaml', 'token', 'changed'],
    ]);
  });

  it('filters by file (across the rename), key path, author and dates', () => {
    const byFile = filterEvents(keyless, keyless.events, { file: 'secrets/prod.yaml', keyPath: 'db' });
    expect(compact(byFile).map((row) => [row[0], row[3], row[4]])).toEqual([
      ['2024-01-10', 'db.password', 'added'],
      ['2024-01-10', 'db.user', 'added'],
      ['2024-02-01', 'db.password', 'changed'],
      ['2024-03-15', '*', 'recipients changed'],
      ['2024-04-01', 'db.password', 're-encrypted'],
      ['2024-04-01', 'db.user', 're-encrypted'],
      ['2024-04-02', 'db.password', 're-encrypted'],
      ['2024-04-02', 'db.user', 're-encrypted'],
      ['2024-05-01', '*', 'data key rotated'],
      ['2024-05-01', 'db.password', 're-encrypted'],
      ['2024-05-01', 'db.user', 're-encrypted'],
      ['2024-07-01', 'db.password', 'changed'],
      ['2024-07-03', 'db.password', 'changed'],
    ]);
    const carol = filterEvents(keyless, keyless.events, { author: 'carol@' });
    expect(compact(carol)).toEqual([['2024-06-10', 'Carol', 'secrets/leak.yaml', '*', 'not encrypted']]);
    const window = filterEvents(keyless, keyless.events, { since: new Date('2024-06-01T00:00:00Z'), until: new Date('2024-06-30T00:00:00Z') });
    expect(window.map((event) => event.event)).toEqual(['changed', 'not encrypted']);
  });

  it('blames each key path with its last certain change and notes later re-encryptions', async () => {
    const rows = await blameFile(keyless, 'secrets/prod.yaml', new Date('2024-08-01T10:00:00Z'));
    expect(rows?.map((row) => [row.keyPath, row.date.slice(0, 10), row.author, row.ageDays, row.event, row.reEncryptedAt?.date.slice(0, 10)])).toEqual([
      ['db.password', '2024-07-03', 'Alice', 29, 'changed', undefined],
      ['db.user', '2024-01-10', 'Alice', 204, 'added', '2024-05-01'],
      ['token', '2024-07-02', 'Alice', 30, 'changed', undefined],
    ]);
    const withKey = await blameFile(keyed, 'secrets/prod.yaml', new Date('2024-08-01T10:00:00Z'));
    expect(withKey?.find((row) => row.keyPath === 'db.password')).toMatchObject({ date: '2024-07-01T10:00:00.000Z', author: 'Bob' });
    expect(withKey?.find((row) => row.keyPath === 'db.user')).toMatchObject({ date: '2024-04-02T10:00:00.000Z', event: 'changed' });
    expect(withKey?.find((row) => row.keyPath === 'db.user')?.reEncryptedAt).toBeUndefined();
  });

  it('blames a file from its own history exactly as from the whole history, with and without a key', async () => {
    const isSecretPath = (file: string) => file.startsWith('secrets/');
    const now = new Date('2024-08-01T10:00:00Z');
    const own = await readFileHistory(await openRepository({ fs, dir: repo.dir }), 'secrets/prod.yaml', { isSecretPath });
    expect(await blameFile(own, 'secrets/prod.yaml', now)).toEqual(await blameFile(keyless, 'secrets/prod.yaml', now));
    const ownKeyed = await readFileHistory(await openRepository({ fs, dir: repo.dir }), 'secrets/prod.yaml', { isSecretPath, keys: keyRingFor(alice) });
    expect(await blameFile(ownKeyed, 'secrets/prod.yaml', now)).toEqual(await blameFile(keyed, 'secrets/prod.yaml', now));
  });

  it('walks one file like the whole history does, cold and from the .git/coffer cache, with and without a key', async () => {
    const isSecretPath = (file: string) => file.startsWith('secrets/');
    const forFile = (history: SecretHistory) => filterEvents(history, history.events, { file: 'secrets/prod.yaml' });
    const cold = await readFileHistory(await openRepository({ fs, dir: repo.dir }), 'secrets/prod.yaml', { isSecretPath, cache: openHistoryCache(`${repo.dir}/.git`) });
    expect(cold.events).toEqual(forFile(keyless));
    expect(cold.renames.map((rename) => [rename.from, rename.to])).toEqual([['secrets/app.yaml', 'secrets/prod.yaml']]);
    expect(fs.existsSync(`${repo.dir}/.git/coffer/history-cache.json`)).toBe(true);
    const warm = await readFileHistory(await openRepository({ fs, dir: repo.dir }), 'secrets/prod.yaml', { isSecretPath, cache: openHistoryCache(`${repo.dir}/.git`) });
    expect(warm.events).toEqual(forFile(keyless));
    const keyedFile = await readFileHistory(await openRepository({ fs, dir: repo.dir }), 'secrets/prod.yaml', { isSecretPath, keys: keyRingFor(alice), cache: openHistoryCache(`${repo.dir}/.git`) });
    expect(keyedFile.events).toEqual(forFile(keyed));
    // a damaged cache is ignored and rebuilt
    fs.writeFileSync(`${repo.dir}/.git/coffer/history-cache.json`, '{"version":1,"commits":');
    const rebuilt = await readFileHistory(await openRepository({ fs, dir: repo.dir }), 'secrets/prod.yaml', { isSecretPath, cache: openHistoryCache(`${repo.dir}/.git`) });
    expect(rebuilt.events).toEqual(forFile(keyless));
    expect(JSON.parse(fs.readFileSync(`${repo.dir}/.git/coffer/history-cache.json`, 'utf8')).version).toBe(1);
    expect(fs.statSync(`${repo.dir}/.git/coffer/history-cache.json`).mode & 0o777).toBe(0o600);
    // an entry someone else could have written is not believed: a forged author in a group-writable cache
    const cacheFile = `${repo.dir}/.git/coffer/history-cache.json`;
    const authors = new Set(forFile(keyless).map((event) => event.author));
    const forged = fs.readFileSync(cacheFile, 'utf8').replaceAll(/"(Alice|Bob|Carol)"/g, '"Mallory"');
    const readWith = async (mode: number) => {
      fs.writeFileSync(cacheFile, forged);
      fs.chmodSync(cacheFile, mode);
      return readFileHistory(await openRepository({ fs, dir: repo.dir }), 'secrets/prod.yaml', { isSecretPath, cache: openHistoryCache(`${repo.dir}/.git`) });
    };
    expect(new Set((await readWith(0o664)).events.map((event) => event.author))).toEqual(authors);
    // (the same bytes in a private file are read: the check, not a parse failure, turned them away)
    expect(new Set((await readWith(0o600)).events.map((event) => event.author))).toEqual(new Set(['Mallory']));
    // a file that is not a secrets file has no events
    expect((await readFileHistory(await openRepository({ fs, dir: repo.dir }), 'notes.yaml', { isSecretPath })).events).toEqual([]);
  });
});
