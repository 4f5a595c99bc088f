// Bad input for the history commands: a key path that never existed, a shallow clone, a corrupt
// object. Clear errors or clearly marked output, never a crash.
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyRingFor, makeTestKey } from '../helpers/keys.js';
import { createTestRepo, SecretsWriter, type TestRepo } from '../git/repo.js';
import { runInProcess } from './sandbox.js';

const FILE = 'secrets/app.yaml';

describe('history commands on bad input', () => {
  let repo: TestRepo;
  let temp: string;
  const env = () => ({ PATH: process.env.PATH, HOME: join(repo.dir, '.home') });

  beforeAll(async () => {
    const key = await makeTestKey();
    const writer = new SecretsWriter(keyRingFor(key));
    const v1 = await writer.encrypt(FILE, 'db:\n  password: p1\napi: a1\n', [key]);
    const v2 = await writer.edit(FILE, v1, { 'db.password': 'p2' });
    const v3 = await writer.edit(FILE, v2, { api: 'a2' });
    const v4 = await writer.edit(FILE, v3, { 'db.password': 'p3' });
    repo = await createTestRepo([
      { author: 'Alice <alice@example.com>', date: '2024-01-01T10:00:00Z', files: { [FILE]: v1 } },
      { author: 'Bob <bob@example.com>', date: '2024-01-02T10:00:00Z', files: { [FILE]: v2 } },
      { author: 'Alice <alice@example.com>', date: '2024-01-03T10:00:00Z', files: { [FILE]: v3 } },
      { author: 'Bob <bob@example.com>', date: '2024-01-04T10:00:00Z', files: { [FILE]: v4 } },
    ]);
    temp = await mkdtemp(join(tmpdir(), 'coffer-history-bad-'));
  });
  afterAll(async () => {
    await repo?.dispose();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  it('a key path that never existed is an error naming it, with or without a file', async () => {
    const withFile = await runInProcess(['log', FILE, 'db.pasword', '--no-decrypt'], repo.dir, env());
    expect(withFile.code).toBe(1);
    expect(withFile.stderr).toContain('key path "db.pasword" never existed in secrets/app.yaml (or its earlier names)');
    expect(withFile.stderr).toContain('coffer blame secrets/app.yaml');
    const json = await runInProcess(['log', '--path', 'nope', '--no-decrypt', '--json'], repo.dir, env());
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'KEY_NOT_FOUND' });
    expect(JSON.parse(json.stderr).error.message).toContain('key path "nope" never existed in any secrets file');
    // a key path that existed but has no events in the window is an ordinary empty result
    const empty = await runInProcess(['log', FILE, 'db.password', '--since', '2030-01-01', '--no-decrypt'], repo.dir, env());
    expect(empty.code).toBe(0);
    expect(empty.stderr).toBe('no secret key events\n');
  });

  it('a shallow clone says what is missing and how to deepen, and lists what it has', async () => {
    const clone = join(temp, 'shallow');
    execFileSync('git', ['clone', '-q', '--depth', '2', `file://${repo.dir}`, clone], { env: { PATH: process.env.PATH ?? '', HOME: temp } });
    const result = await runInProcess(['log', FILE, '--no-decrypt', '--json'], clone, { PATH: process.env.PATH, HOME: temp });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/is a shallow clone: history before [0-9a-f]{7} is missing/);
    expect(result.stderr).toContain('git fetch --unshallow');
    const events = JSON.parse(result.stdout).events.map((event: { keyPath: string; event: string }) => `${event.keyPath} ${event.event}`);
    // the boundary commit shows as adding every key (its parent is not there); then the last change
    expect(events[0]).toBe('db.password changed');
    expect(events.slice(1).sort()).toEqual(['api added', 'db.password added']);
    // answered from .git/coffer/answers/ the second time: the same warning and events
    expect(await runInProcess(['log', FILE, '--no-decrypt', '--json'], clone, { PATH: process.env.PATH, HOME: temp })).toEqual(result);
    // deepened, the same HEAD has a longer history: the stored answer no longer applies
    execFileSync('git', ['fetch', '-q', '--unshallow'], { cwd: clone, env: { PATH: process.env.PATH ?? '', HOME: temp } });
    const full = await runInProcess(['log', FILE, '--no-decrypt', '--json'], clone, { PATH: process.env.PATH, HOME: temp });
    expect(full.stderr).toBe('');
    expect(JSON.parse(full.stdout).events).toHaveLength(JSON.parse((await runInProcess(['log', FILE, '--no-decrypt', '--json'], repo.dir, env())).stdout).events.length);
  });

  it('a corrupt object is a clear error with the repair hint, not a crash', async () => {
    const corrupt = join(temp, 'corrupt');
    execFileSync('git', ['clone', '-q', '--no-local', repo.dir, corrupt], { env: { PATH: process.env.PATH ?? '', HOME: temp } });
    // unpack so the object is a loose file we can damage
    const pack = execFileSync('sh', ['-c', 'ls .git/objects/pack/*.pack'], { cwd: corrupt, encoding: 'utf8' }).trim();
    execFileSync('sh', ['-c', `mv ${pack} ../p.pack && rm .git/objects/pack/* && git unpack-objects -q < ../p.pack`], { cwd: corrupt });
    const blob = execFileSync('git', ['rev-parse', `HEAD~2:${FILE}`], { cwd: corrupt, encoding: 'utf8' }).trim();
    const path = join(corrupt, '.git', 'objects', blob.slice(0, 2), blob.slice(2));
    chmodSync(path, 0o644);
    writeFileSync(path, Buffer.from('not zlib at all'));
    for (const argv of [['log', '--no-decrypt'], ['log', FILE, '--no-decrypt'], ['blame', FILE, '--no-decrypt']]) {
      const result = await runInProcess(argv, corrupt, { PATH: process.env.PATH, HOME: temp });
      expect(result.code, argv.join(' ')).toBe(1);
      expect(result.stderr).toContain(`blob ${blob.slice(0, 7)}: a git object is corrupt`);
      expect(result.stderr).toContain('git fsck');
      expect(result.stderr).not.toContain('this is a bug');
    }
  });
});
