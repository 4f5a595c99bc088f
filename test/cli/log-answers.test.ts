// `coffer log FILE` answered from .git/coffer/answers/: a hit prints exactly what the walk prints
// (ndjson, json, table) on a history with a rename, SOPS-style re-encryption, a plaintext commit
// and a merge; a new commit on top extends the stored answer to what a cold run says; every input
// of the key (policy, ref, rewritten history, shallow boundary) misses; damaged or foreign answer
// files are ignored and rewritten; runs with a key never use it, nor do runs with an SSH key when
// the file has an SSH recipient.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeKeySources } from '../../src/keys/identities.js';
import { createKeyRing } from '../../src/keys/key-ring.js';
import { keyRingFor, makeTestKey, type TestKey } from '../helpers/keys.js';
import { createTestRepo, SecretsWriter, type TestRepo } from '../git/repo.js';
import { runInProcess } from './sandbox.js';

const FILE = 'secrets/prod.yaml';

const policy = (alice: TestKey, environment: string) => `version: 1
recipients:
  alice: { age: ${alice.recipient}, email: alice@example.com }
environments:
  ${environment}:
    files: ['secrets/*.yaml']
    readers: [alice]
`;

describe('coffer log FILE from stored answers', () => {
  let repo: TestRepo;
  let alice: TestKey;
  let writer: SecretsWriter;
  let last: string;
  const keylessEnv = () => ({ PATH: process.env.PATH, HOME: join(repo.dir, '.home') });
  const run = (argv: string[], env: Record<string, string | undefined> = keylessEnv()) => runInProcess(argv, repo.dir, env);
  const answersDir = () => join(repo.dir, '.git', 'coffer', 'answers');
  const answerFiles = () => (existsSync(answersDir()) ? readdirSync(answersDir()).filter((name) => name.endsWith('.json')) : []);
  const historyCache = () => join(repo.dir, '.git', 'coffer', 'history-cache.json');
  /** Every output form of `coffer log FILE` (and of one key path) with the given extra arguments. */
  const outputs = async (extra: string[] = [], env?: Record<string, string | undefined>) => {
    const result: Record<string, string> = {};
    for (const [name, argv] of Object.entries({
      ndjson: ['log', '--ndjson', FILE, ...extra],
      json: ['log', '--json', FILE, ...extra],
      table: ['log', FILE, ...extra],
      key: ['log', '--ndjson', FILE, 'db.password', ...extra],
      env: ['log', '--ndjson', '--env', 'prod', FILE, ...extra],
    })) {
      const { code, stdout, stderr } = await run(argv, env);
      result[name] = `${code}\n${stdout}\n${stderr}`;
    }
    return result;
  };
  const cold = async (extra: string[] = [], env?: Record<string, string | undefined>) => {
    rmSync(join(repo.dir, '.git', 'coffer'), { recursive: true, force: true });
    return outputs(extra, env);
  };

  beforeAll(async () => {
    alice = await makeTestKey();
    writer = new SecretsWriter(keyRingFor(alice));
    const v1 = await writer.encrypt('secrets/app.yaml', 'db:\n    password: p1\n    user: u1\napi: k1\n', [alice]);
    const v2 = await writer.edit('secrets/app.yaml', v1, { 'db.password': 'p2', token: 't1' });
    const v3 = await writer.reEncryptAll('secrets/app.yaml', v2);
    const v4 = await writer.edit(FILE, v3, { api: 'k2' });
    const v5 = await writer.edit(FILE, v4, { 'db.user': 'u2' });
    const feature = await writer.edit(FILE, v5, { 'db.password': 'p3' });
    const mainSide = await writer.edit(FILE, v5, { token: 't2' });
    const merged = await writer.edit(FILE, mainSide, { 'db.password': 'p3' });
    last = merged;
    repo = await createTestRepo([
      { author: 'Alice <alice@example.com>', date: '2024-01-10T10:00:00Z', files: { 'coffer.yaml': policy(alice, 'prod'), 'secrets/app.yaml': v1, 'README.md': 'hi\n' } },
      { author: 'Bob <bob@example.com>', date: '2024-02-01T10:00:00Z', files: { 'secrets/app.yaml': v2 } },
      { author: 'Bob <bob@example.com>', date: '2024-03-01T10:00:00Z', files: { 'secrets/app.yaml': v3 } },
      { author: 'Alice <alice@example.com>', date: '2024-04-01T10:00:00Z', rename: ['secrets/app.yaml', FILE], files: { [FILE]: v4 } },
      { author: 'Carol <carol@example.com>', date: '2024-05-01T10:00:00Z', files: { [FILE]: 'db:\n    password: oops\n' } },
      { author: 'Carol <carol@example.com>', date: '2024-05-02T10:00:00Z', files: { [FILE]: v5 } },
      { author: 'Bob <bob@example.com>', date: '2024-06-01T10:00:00Z', branch: 'feature', files: { [FILE]: feature } },
      { author: 'Alice <alice@example.com>', date: '2024-06-02T10:00:00Z', branch: 'main', files: { [FILE]: mainSide } },
      { author: 'Alice <alice@example.com>', date: '2024-06-03T10:00:00Z', merge: 'feature', files: { [FILE]: merged } },
    ]);
  });
  afterAll(() => repo?.dispose());

  it('a hit prints exactly what the walk prints, in every output form', async () => {
    const walked = await cold();
    const events = walked.ndjson!.split('\n').slice(1).filter(Boolean).map((line) => JSON.parse(line) as { event: string; file: string });
    // the history has each case: the rename, the re-encryption, the plaintext commit, the merge
    expect(events.map((event) => event.event)).toEqual(expect.arrayContaining(['re-encrypted', 'not encrypted', 'changed', 'added']));
    expect(events.some((event) => event.file === 'secrets/app.yaml')).toBe(true);
    expect(walked.table).toContain('renamed from secrets/app.yaml');
    expect(answerFiles()).toHaveLength(1);
    // a hit must not touch the walk's cache: without it, a walk would write it again
    rmSync(historyCache());
    expect(await outputs()).toEqual(walked);
    expect(existsSync(historyCache())).toBe(false);
    // a miss that walks over the history cache alone says the same
    rmSync(answersDir(), { recursive: true });
    expect(await outputs()).toEqual(walked);
    expect(await outputs(['--no-decrypt'])).toEqual(walked);
  });

  it('a new commit on top extends the stored answer to what a cold run says', async () => {
    await outputs();
    const next = await writer.edit(FILE, last, { api: 'k3' });
    repo.commit({ author: 'Dan <dan@example.com>', date: '2024-07-01T10:00:00Z', files: { [FILE]: next, 'README.md': 'more\n' } });
    repo.commit({ author: 'Dan <dan@example.com>', date: '2024-07-02T10:00:00Z', files: { 'README.md': 'again\n' } });
    rmSync(historyCache());
    const extended = await outputs();
    // extended from the earlier answer: no walk, so no history cache was written
    expect(existsSync(historyCache())).toBe(false);
    expect(extended.ndjson).toContain('"commit":"');
    expect(extended.table).toContain('Dan');
    expect(extended).toEqual(await cold());
    last = next;
  });

  it('a new name brought in on top walks the whole history again (a rename is followed)', async () => {
    await outputs();
    const renamed = await writer.edit(FILE, last, { api: 'k4' });
    repo.commit({ author: 'Erin <erin@example.com>', date: '2024-08-01T10:00:00Z', rename: [FILE, 'secrets/live.yaml'], files: { 'secrets/live.yaml': renamed } });
    repo.commit({ author: 'Erin <erin@example.com>', date: '2024-08-02T10:00:00Z', rename: ['secrets/live.yaml', FILE], files: {} });
    rmSync(historyCache());
    const after = await outputs();
    // the walk ran (it writes the history cache) and followed the file through its other name
    expect(existsSync(historyCache())).toBe(true);
    expect(after.table).toMatch(/secrets\/live\.yaml +api +changed +renamed from secrets\/prod\.yaml/);
    expect(after).toEqual(await cold());
  });

  it('a policy change, another ref and a rewritten history each miss', async () => {
    const before = await outputs();
    // the environment is renamed: --env prod no longer matches, and a stale answer would say it does
    writeFileSync(join(repo.dir, 'coffer.yaml'), policy(alice, 'production'));
    const renamedEnvironment = await outputs();
    expect(renamedEnvironment.env).toBe('0\n\n');
    expect(before.env).not.toBe('0\n\n');
    expect(renamedEnvironment).toEqual(await cold());
    writeFileSync(join(repo.dir, 'coffer.yaml'), policy(alice, 'prod'));
    expect(await outputs()).toEqual(before);

    const feature = await outputs(['--ref', 'feature']);
    expect(feature.ndjson).not.toEqual(before.ndjson);
    expect(feature).toEqual(await cold(['--ref', 'feature']));
    expect(await outputs(['--ref', 'feature'])).toEqual(feature);

    await outputs();
    const main = repo.git(['rev-parse', 'main']).trim();
    repo.git(['reset', '-q', '--hard', 'feature']);
    const rewritten = await outputs();
    expect(rewritten).toEqual(feature);
    expect(rewritten).toEqual(await cold());
    repo.git(['reset', '-q', '--hard', main]);
    expect(await outputs()).toEqual(before);
  });

  it('damaged and foreign answer files are ignored and rewritten', async () => {
    const walked = await cold();
    const [name] = answerFiles();
    const path = join(answersDir(), name!);
    const good = readFileSync(path, 'utf8');
    const answer = JSON.parse(good);
    const damaged = [
      '{"format":1,"events":',
      '[]',
      'null',
      JSON.stringify({ ...answer, format: 99 }),
      JSON.stringify({ ...answer, version: '0.0.0-other' }),
      JSON.stringify({ ...answer, source: 'elsewhere' }),
      JSON.stringify({ ...answer, head: '0'.repeat(40) }),
      JSON.stringify({ ...answer, events: [7, ...answer.events] }),
      JSON.stringify({ ...answer, tips: null }),
    ];
    for (const bad of damaged) {
      writeFileSync(path, bad);
      expect(await outputs()).toEqual(walked);
      expect(readFileSync(path, 'utf8')).toBe(good);
    }
    // one that others could have written is not believed either, and is rewritten as the user's own
    chmodSync(path, 0o666);
    writeFileSync(path, good.replace('"event":"added"', '"event":"removed"'));
    expect(await outputs()).toEqual(walked);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // another file's answer under this name: its source differs, so it is not believed
    const other = await run(['log', '--ndjson', 'secrets/other.yaml']);
    expect(other.code).toBe(0);
    const otherName = answerFiles().find((file) => file !== name)!;
    writeFileSync(path, readFileSync(join(answersDir(), otherName), 'utf8'));
    expect(await outputs()).toEqual(walked);
  });

  it('with a key nothing is read from or written for the answers, and the output is the walk with decryption', async () => {
    const keyless = await cold();
    const keyed = await cold([], { ...keylessEnv(), SOPS_AGE_KEY: alice.identity });
    expect(answerFiles()).toEqual([]);
    // decrypting tells the SOPS-style re-encryption apart (same values: re-encrypted, marked decrypted)
    expect(keyed.ndjson).toContain('"decrypted":true');
    expect(keyed).not.toEqual(keyless);
    await outputs();
    expect(answerFiles()).toHaveLength(1);
    expect(await outputs([], { ...keylessEnv(), SOPS_AGE_KEY: alice.identity })).toEqual(keyed);
    // a key file at the default place counts as a key too
    const keyFile = join(repo.dir, '.home', '.config', 'sops', 'age', 'keys.txt');
    rmSync(join(repo.dir, '.home', '.config'), { recursive: true, force: true });
    mkdirSync(join(repo.dir, '.home', '.config', 'sops', 'age'), { recursive: true });
    writeFileSync(keyFile, `${alice.identity}\n`);
    try {
      expect(await outputs()).toEqual(keyed);
    } finally {
      rmSync(join(repo.dir, '.home', '.config'), { recursive: true, force: true });
    }
    expect(await outputs()).toEqual(keyless);
  });

  it('bad input is reported as by the walk: a key path that never existed, a path outside the repository', async () => {
    await cold();
    for (let pass = 0; pass < 2; pass++) {
      const missing = await run(['log', FILE, 'db.pasword']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`key path "db.pasword" never existed in ${FILE} (or its earlier names)`);
      const outside = await run(['log', '../elsewhere.yaml', '--no-decrypt']);
      expect(outside.code).toBe(2);
      expect(outside.stderr).toContain('is outside the git repository');
      expect(answerFiles()).toHaveLength(1);
    }
  });
});

describe('coffer log FILE with an SSH recipient', () => {
  let repo: TestRepo;
  let sshKey: string;
  const home = () => join(repo.dir, '.home');
  const run = (argv: string[], env: Record<string, string | undefined> = {}) => runInProcess(argv, repo.dir, { PATH: process.env.PATH, HOME: home(), ...env });
  const answersDir = () => join(repo.dir, '.git', 'coffer', 'answers');
  const answerFiles = () => (existsSync(answersDir()) ? readdirSync(answersDir()).filter((name) => name.endsWith('.json')) : []);

  beforeAll(async () => {
    const keys = mkdtempSync(join(tmpdir(), 'coffer-log-ssh-'));
    sshKey = join(keys, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', sshKey], { stdio: 'ignore' });
    const recipient = readFileSync(`${sshKey}.pub`, 'utf8').trim();
    const writer = new SecretsWriter(createKeyRing({ env: { SOPS_AGE_SSH_PRIVATE_KEY_FILE: sshKey, HOME: keys }, sources: { ...nodeKeySources(), homedir: keys } }));
    const alice = { identity: '', recipient };
    const v1 = await writer.encrypt(FILE, 'db:\n    password: p1\n', [alice]);
    const v2 = await writer.reEncryptAll(FILE, v1);
    const v3 = await writer.edit(FILE, v2, { 'db.password': 'p2' });
    repo = await createTestRepo([
      { author: 'Alice <alice@example.com>', date: '2024-01-10T10:00:00Z', files: { 'coffer.yaml': policyFor(recipient), [FILE]: v1 } },
      { author: 'Bob <bob@example.com>', date: '2024-02-01T10:00:00Z', files: { [FILE]: v2 } },
      { author: 'Bob <bob@example.com>', date: '2024-03-01T10:00:00Z', files: { [FILE]: v3 } },
    ]);
  });
  afterAll(() => repo?.dispose());

  const policyFor = (recipient: string) => `version: 1
recipients:
  alice: { age: "${recipient}" }
environments:
  prod:
    files: ['secrets/*.yaml']
    readers: [alice]
`;

  it('is answered without keys only while no SSH key is where SOPS looks; with ~/.ssh/id_ed25519 it walks and decrypts', async () => {
    rmSync(join(repo.dir, '.git', 'coffer'), { recursive: true, force: true });
    const keyless = await run(['log', '--ndjson', FILE]);
    expect(keyless.code).toBe(0);
    expect(answerFiles()).toHaveLength(1);
    expect(await run(['log', '--ndjson', FILE])).toEqual(keyless);
    const keyed = await run(['log', '--ndjson', FILE], { SOPS_AGE_SSH_PRIVATE_KEY_FILE: sshKey });
    expect(keyed.code).toBe(0);
    // the SSH key tells the re-encryption apart from a change: the answer alone could not
    expect(keyed.stdout).toContain('"decrypted":true');
    expect(keyed).not.toEqual(keyless);
    mkdirSync(join(home(), '.ssh'), { recursive: true });
    copyFileSync(sshKey, join(home(), '.ssh', 'id_ed25519'));
    try {
      expect(await run(['log', '--ndjson', FILE])).toEqual(keyed);
    } finally {
      rmSync(join(home(), '.ssh'), { recursive: true, force: true });
    }
    expect(await run(['log', '--ndjson', FILE])).toEqual(keyless);
  });
});
