// `coffer restore FILE --at REV` in a real repository: the past values come back sealed under the
// current data key (unchanged values keep their ciphertext) and wrapped for today's recipients.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileVersion } from '../../src/audit/versions.js';
import { keyRingFor, makeTestKey, type TestKey } from '../helpers/keys.js';
import { createTestRepo, SecretsWriter, type TestRepo } from '../git/repo.js';
import { runInProcess } from './sandbox.js';

const FILE = 'secrets/app.yaml';
const sopsConfig = (...keys: TestKey[]) => `creation_rules:\n  - path_regex: \\.yaml$\n    age: ${keys.map((key) => key.recipient).join(',')}\n`;

describe('coffer restore', () => {
  let repo: TestRepo;
  let alice: TestKey;
  let bob: TestKey;
  let first: string;
  const run = (argv: string[], key: TestKey = alice) => runInProcess(argv, repo.dir, { PATH: process.env.PATH, HOME: join(repo.dir, '.home'), SOPS_AGE_KEY: key.identity });
  const version = () => {
    const text = readFileSync(join(repo.dir, FILE));
    const parsed = readFileVersion(FILE, text);
    if (parsed.kind !== 'encrypted') throw new Error('not encrypted');
    return parsed;
  };

  beforeAll(async () => {
    [alice, bob] = await Promise.all([makeTestKey(), makeTestKey()]);
    const writer = new SecretsWriter(keyRingFor(alice, bob));
    const v1 = await writer.encrypt(FILE, 'a: one\nb: two\n', [alice]);
    const v2 = await writer.edit(FILE, v1, { b: 'three', c: 'four' });
    const v3 = await writer.setRecipients(FILE, v2, [alice, bob]);
    repo = await createTestRepo();
    first = repo.commit({ author: 'Alice <alice@example.com>', date: '2024-01-01T10:00:00Z', files: { '.sops.yaml': sopsConfig(alice), [FILE]: v1 } });
    repo.commit({ author: 'Alice <alice@example.com>', date: '2024-01-02T10:00:00Z', files: { [FILE]: v2 } });
    repo.commit({ author: 'Alice <alice@example.com>', date: '2024-01-03T10:00:00Z', files: { '.sops.yaml': sopsConfig(alice, bob), [FILE]: v3 } });
  });
  afterAll(() => repo?.dispose());

  it('--dry-run lists the key paths that would change, never values, and writes nothing', async () => {
    const before = readFileSync(join(repo.dir, FILE), 'utf8');
    const result = await run(['restore', FILE, '--at', first, '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('changed  b\nremoved  c\n');
    expect(result.stdout + result.stderr).not.toMatch(/one|two|three|four/);
    expect(readFileSync(join(repo.dir, FILE), 'utf8')).toBe(before);
  });

  it("restores the values under the current data key, for today's recipients, keeping unchanged ciphertext", async () => {
    const before = version();
    const result = await run(['restore', FILE, '--at', first, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ written: true, changes: [{ keyPath: 'b', change: 'changed' }, { keyPath: 'c', change: 'removed' }] });
    const after = version();
    expect([...after.values.keys()]).toEqual(['a', 'b']);
    expect(after.values.get('a')).toBe(before.values.get('a'));
    expect(after.values.get('b')).not.toBe(before.values.get('b'));
    // same data key, wrapped for alice and bob (the policy today; the first version had only alice)
    expect(after.wrapped).toEqual(before.wrapped);
    expect(after.recipients).toEqual([alice.recipient, bob.recipient].sort());
    const asBob = await run(['decrypt', '--output-type', 'json', FILE], bob);
    expect(JSON.parse(asBob.stdout)).toEqual({ a: 'one', b: 'two' });
    // the history shows exactly what the restore changed
    repo.commit({ author: 'Alice <alice@example.com>', date: '2024-01-04T10:00:00Z', message: 'restore' });
    const log = await run(['log', '--json', '--no-decrypt', FILE]);
    expect(JSON.parse(log.stdout).events.slice(0, 2).map((event: { keyPath: string; event: string }) => `${event.keyPath} ${event.event}`).sort()).toEqual(['b changed', 'c removed']);
    const again = await run(['restore', FILE, '--at', first]);
    expect(again.stderr).toMatch(/already holds the values/);
  });

  it('brings back a deleted file, encrypted anew for the policy', async () => {
    rmSync(join(repo.dir, FILE));
    const result = await run(['restore', FILE, '--at', first]);
    expect(result.code).toBe(0);
    expect(existsSync(join(repo.dir, FILE))).toBe(true);
    expect(version().recipients).toEqual([alice.recipient, bob.recipient].sort());
    expect(JSON.parse((await run(['decrypt', '--output-type', 'json', FILE], bob)).stdout)).toEqual({ a: 'one', b: 'two' });
  });

  it('says when the file did not exist at the commit, or the commit does not exist', async () => {
    const missing = await run(['restore', 'secrets/other.yaml', '--at', first]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/secrets\/other\.yaml did not exist at/);
    const noRev = await run(['restore', FILE, '--at', 'no-such-branch']);
    expect(noRev.code).toBe(2);
    expect(noRev.stderr).toMatch(/no commit or branch "no-such-branch"/);
  });
});
