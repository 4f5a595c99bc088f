// The diff and merge drivers through real `git diff` and `git merge`, registered by `coffer git-setup`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFile, rotateDataKey, updateRecipients } from '../../src/file/secrets-file.js';
import { keyRingFor, makeTestKey, planFor, type TestKey } from '../helpers/keys.js';
import { runInProcess } from '../cli/sandbox.js';
import { createTestRepo, SecretsWriter, type TestRepo } from './repo.js';

describe('git drivers', () => {
  let bundleDir: string;
  let bin: string;
  let alice: TestKey;
  let writer: SecretsWriter;
  const repos: TestRepo[] = [];

  beforeAll(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'coffer-bundle-'));
    bin = join(bundleDir, 'coffer.mjs');
    await build({ entryPoints: [join(import.meta.dirname, '../../src/cli/bin.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bin, logLevel: 'silent', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
    alice = await makeTestKey();
    writer = new SecretsWriter(keyRingFor(alice));
  }, 60_000);
  afterAll(async () => {
    rmSync(bundleDir, { recursive: true, force: true });
    await Promise.all(repos.map((repo) => repo.dispose()));
  });

  const setup = async (base: string) => {
    const repo = await createTestRepo([{ author: 'Alice <alice@example.com>', date: '2024-03-01T10:00:00Z', files: { 'secrets/app.yaml': base, 'coffer.yaml': `version: 1\nrecipients:\n  alice: { age: ${alice.recipient} }\nenvironments:\n  app:\n    files: ['secrets/*.yaml']\n    readers: [alice]\n` } }]);
    repos.push(repo);
    const env = { PATH: process.env.PATH, HOME: join(repo.dir, '.home'), SOPS_AGE_KEY: alice.identity };
    const result = await runInProcess(['git-setup', '--command', `${process.execPath} ${bin}`], repo.dir, env);
    expect(result.code).toBe(0);
    expect(readFileSync(join(repo.dir, '.gitattributes'), 'utf8')).toBe('secrets/*.yaml diff=coffer merge=coffer\n');
    expect(repo.git(['config', 'merge.coffer.driver'])).toBe(`${process.execPath} ${bin} merge-driver %O %A %B %P\n`);
    repo.commit({ author: 'Alice <alice@example.com>', date: '2024-03-01T10:05:00Z', files: {} });
    return { repo, gitEnv: { SOPS_AGE_KEY: alice.identity } };
  };

  it('git diff shows changed and unchanged key paths without a key', async () => {
    const base = await writer.encrypt('secrets/app.yaml', 'a: 1\nb: 2\n', [alice]);
    const { repo } = await setup(base);
    const changed = await writer.edit('secrets/app.yaml', base, { a: '9' });
    writeFileSync(join(repo.dir, 'secrets/app.yaml'), changed);
    const diff = repo.git(['diff', '-U5', '--', 'secrets/app.yaml']);
    const lines = diff.split('\n');
    expect(lines.filter((line) => /^[-+][ab] = /.test(line)).map((line) => line.replace(/encrypted:[0-9a-f]{12}/, 'encrypted:X'))).toEqual(['-a = encrypted:X', '+a = encrypted:X']);
    expect(lines).toContainEqual(expect.stringMatching(/^ b = encrypted:[0-9a-f]{12}$/));
    expect(diff).not.toContain('ENC[');
  });

  it('git merge merges different keys changed on both branches and re-seals the MAC', async () => {
    const base = await writer.encrypt('secrets/app.yaml', 'a: 1\nb: 2\nc: 3\n', [alice]);
    const { repo, gitEnv } = await setup(base);
    const feature = await writer.edit('secrets/app.yaml', base, { a: 'feature' }, new Date('2024-03-02T00:00:00Z'));
    const main = await writer.edit('secrets/app.yaml', base, { b: 'main', c: null }, new Date('2024-03-03T00:00:00Z'));
    repo.commit({ author: 'Bob <bob@example.com>', date: '2024-03-02T10:00:00Z', branch: 'feature', files: { 'secrets/app.yaml': feature } });
    repo.commit({ author: 'Alice <alice@example.com>', date: '2024-03-03T10:00:00Z', branch: 'main', files: { 'secrets/app.yaml': main } });
    const merge = spawnSync('git', ['-c', 'commit.gpgsign=false', 'merge', '--no-ff', '-m', 'merge', 'feature'], { cwd: repo.dir, env: { PATH: process.env.PATH, HOME: join(repo.dir, '.home'), ...gitEnv, GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@x' }, encoding: 'utf8' });
    expect(merge.status).toBe(0);
    expect(merge.stderr).toContain('merged secrets/app.yaml key by key');
    const merged = readFileSync(join(repo.dir, 'secrets/app.yaml'));
    const opened = await openFile({ file: 'secrets/app.yaml', store: 'yaml', content: merged }, keyRingFor(alice));
    expect(opened.plain.toPlain()).toEqual([new Map([['a', 'feature'], ['b', 'main']])]);
    // the feature branch's ciphertext was kept verbatim: history shows no change of the merge's own
    const aLine = (text: string) => text.split('\n').find((line) => line.startsWith('a: '));
    expect(aLine(merged.toString())).toBe(aLine(feature));
    const log = await runInProcess(['log', '--json', '--no-decrypt'], repo.dir, { PATH: process.env.PATH, HOME: join(repo.dir, '.home') });
    const mergeCommit = repo.git(['rev-parse', 'HEAD']).trim();
    expect(JSON.parse(log.stdout).events.filter((event: { commit: string }) => event.commit === mergeCommit)).toEqual([]);
  });

  it('the same key changed on both branches is a conflict naming the key path; without a key the driver declines', async () => {
    const base = await writer.encrypt('secrets/app.yaml', 'a: 1\nb: 2\n', [alice]);
    const { repo, gitEnv } = await setup(base);
    repo.commit({ author: 'Bob <bob@example.com>', date: '2024-03-02T10:00:00Z', branch: 'feature', files: { 'secrets/app.yaml': await writer.edit('secrets/app.yaml', base, { a: 'x' }) } });
    repo.commit({ author: 'Alice <alice@example.com>', date: '2024-03-03T10:00:00Z', branch: 'main', files: { 'secrets/app.yaml': await writer.edit('secrets/app.yaml', base, { a: 'y' }) } });
    const env = { PATH: process.env.PATH, HOME: join(repo.dir, '.home'), GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@x' };
    const conflict = spawnSync('git', ['merge', '--no-ff', '-m', 'merge', 'feature'], { cwd: repo.dir, env: { ...env, ...gitEnv }, encoding: 'utf8' });
    expect(conflict.status).not.toBe(0);
    expect(conflict.stderr).toContain('secrets/app.yaml: conflict: a changed on both branches');
    expect(readFileSync(join(repo.dir, 'secrets/app.yaml'), 'utf8')).toContain('<<<<<<< ours');
    repo.git(['merge', '--abort']);
    const declined = spawnSync('git', ['merge', '--no-ff', '-m', 'merge', 'feature'], { cwd: repo.dir, env, encoding: 'utf8' });
    expect(declined.status).not.toBe(0);
    expect(declined.stderr).toContain('not merged key by key: merging changes the MAC, which needs a key that decrypts the file');
  });

  describe('a branch that rotated the data key or changed the recipients', () => {
    const merge = (repo: TestRepo, gitEnv: Record<string, string>) =>
      spawnSync('git', ['-c', 'commit.gpgsign=false', 'merge', '--no-ff', '-m', 'merge', 'feature'], {
        cwd: repo.dir,
        env: { PATH: process.env.PATH, HOME: join(repo.dir, '.home'), ...gitEnv, GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@x' },
        encoding: 'utf8',
      });
    const open = (content: string | Buffer, keys = keyRingFor(alice)) => openFile({ file: 'secrets/app.yaml', store: 'yaml', content: Buffer.from(content) }, keys);

    it.each([
      ['feature', 'main'],
      ['main', 'feature'],
    ])('rotated on %s, a value changed on %s: merged under the new data key', async (rotating, editing) => {
      const base = await writer.encrypt('secrets/app.yaml', 'a: 1\nb: 2\n', [alice]);
      const { repo, gitEnv } = await setup(base);
      const rotated = await rotateDataKey(await open(base), keyRingFor(alice));
      const edited = await writer.edit('secrets/app.yaml', base, { b: `changed on ${editing}` });
      repo.commit({ author: 'Bob <bob@example.com>', date: '2024-03-02T10:00:00Z', branch: 'feature', files: { 'secrets/app.yaml': rotating === 'feature' ? rotated : edited } });
      repo.commit({ author: 'Alice <alice@example.com>', date: '2024-03-03T10:00:00Z', branch: 'main', files: { 'secrets/app.yaml': rotating === 'main' ? rotated : edited } });
      const result = merge(repo, gitEnv);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toContain('merged secrets/app.yaml key by key');
      const merged = await open(readFileSync(join(repo.dir, 'secrets/app.yaml')));
      expect(merged.plain.toPlain()).toEqual([new Map<string, unknown>([['a', 1n], ['b', `changed on ${editing}`]])]);
      // the rotation holds: the merged file is under the rotated key, not the old one
      expect(Buffer.from(merged.dataKey).equals(Buffer.from((await open(rotated)).dataKey))).toBe(true);
      expect(Buffer.from(merged.dataKey).equals(Buffer.from((await open(base)).dataKey))).toBe(false);
    });

    it('a reader added on one branch can read the merge; both branches rotating is left to a person', async () => {
      const bob = await makeTestKey();
      const base = await writer.encrypt('secrets/app.yaml', 'a: 1\nb: 2\n', [alice]);
      const { repo, gitEnv } = await setup(base);
      const withBob = await updateRecipients(await open(base), keyRingFor(alice), planFor(alice, bob));
      repo.commit({ author: 'Bob <bob@example.com>', date: '2024-03-02T10:00:00Z', branch: 'feature', files: { 'secrets/app.yaml': withBob! } });
      repo.commit({ author: 'Alice <alice@example.com>', date: '2024-03-03T10:00:00Z', branch: 'main', files: { 'secrets/app.yaml': await writer.edit('secrets/app.yaml', base, { a: 'main' }) } });
      const result = merge(repo, gitEnv);
      expect(result.status, result.stderr).toBe(0);
      const merged = readFileSync(join(repo.dir, 'secrets/app.yaml'));
      expect((await open(merged, keyRingFor(bob))).plain.toPlain()).toEqual([new Map<string, unknown>([['a', 'main'], ['b', 2n]])]);

      const again = await setup(base);
      const rotatedTwice = [await rotateDataKey(await open(base), keyRingFor(alice)), await rotateDataKey(await open(base), keyRingFor(alice))];
      again.repo.commit({ author: 'Bob <bob@example.com>', date: '2024-03-02T10:00:00Z', branch: 'feature', files: { 'secrets/app.yaml': rotatedTwice[0]! } });
      again.repo.commit({ author: 'Alice <alice@example.com>', date: '2024-03-03T10:00:00Z', branch: 'main', files: { 'secrets/app.yaml': rotatedTwice[1]! } });
      const declined = merge(again.repo, again.gitEnv);
      expect(declined.status).not.toBe(0);
      expect(declined.stderr).toContain('both branches changed the data key or the recipients');
    });
  });
});

