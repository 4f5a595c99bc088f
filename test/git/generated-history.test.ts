// `coffer log` on a generated repository (one value changed per commit, stable ciphertext,
// written with git fast-import, so the objects are packed and deltified): the whole history and
// one file's (the per-file walk and its .git/coffer cache) agree with each other and with
// `git log -- FILE`. Speed is measured by bench/log.mjs, not here.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyRingFor, makeTestKey } from '../helpers/keys.js';
import { runInProcess } from '../cli/sandbox.js';
import { createTestRepo, SecretsWriter, type TestRepo } from './repo.js';

const FILES = 10;
const COMMITS = 200;

describe('coffer log on a packed history of 200 commits over 10 files', () => {
  let repo: TestRepo;
  beforeAll(async () => {
    const key = await makeTestKey();
    const writer = new SecretsWriter(keyRingFor(key));
    const texts: string[] = [];
    for (let file = 0; file < FILES; file++) texts.push(await writer.encrypt(`secrets/f${file}.yaml`, Array.from({ length: 10 }, (_, index) => `k${index}: v0\n`).join(''), [key]));
    repo = await createTestRepo();
    let stream = '';
    for (let commit = 0; commit < COMMITS; commit++) {
      const file = commit % FILES;
      if (commit >= FILES) texts[file] = await writer.edit(`secrets/f${file}.yaml`, texts[file]!, { [`k${commit % 10}`]: `v${commit}` });
      const body = texts[file]!;
      const when = 1_700_000_000 + commit * 3600;
      stream += `commit refs/heads/main\ncommitter Dev${commit % 5} <dev${commit % 5}@example.com> ${when} +0000\ndata 5\nc${String(commit).padStart(3, '0')}\n`;
      stream += `M 100644 inline secrets/f${file}.yaml\ndata ${Buffer.byteLength(body)}\n${body}\n`;
    }
    execFileSync('git', ['fast-import', '--quiet'], { cwd: repo.dir, input: stream });
    repo.git(['reset', '-q', '--hard', 'main']);
  }, 120_000);
  afterAll(() => repo?.dispose());

  it('lists the same events for one file per-file, warm, and from the whole history', async () => {
    const env = { PATH: process.env.PATH, HOME: `${repo.dir}/.home` };
    const all = JSON.parse((await runInProcess(['log', '--json', '--no-decrypt'], repo.dir, env)).stdout).events;
    expect(all.length).toBe(FILES * 10 + (COMMITS - FILES));
    const cold = JSON.parse((await runInProcess(['log', '--json', '--no-decrypt', 'secrets/f3.yaml'], repo.dir, env)).stdout).events;
    expect(cold.length).toBe(10 + (COMMITS - FILES) / FILES);
    expect(cold).toEqual(all.filter((event: { file: string }) => event.file === 'secrets/f3.yaml'));
    const warm = JSON.parse((await runInProcess(['log', '--json', '--no-decrypt', 'secrets/f3.yaml'], repo.dir, env)).stdout).events;
    expect(warm).toEqual(cold);
    // the commits that changed the file are exactly git's
    const gitCommits = execFileSync('git', ['log', '--format=%H', '--', 'secrets/f3.yaml'], { cwd: repo.dir, encoding: 'utf8' }).trim().split('\n');
    expect([...new Set(cold.map((event: { commit: string }) => event.commit))]).toEqual(gitCommits);
    // commit n edits k(n % 10) of file n % FILES: file 3's changes are all to k3
    const key = JSON.parse((await runInProcess(['log', '--json', '--no-decrypt', 'secrets/f3.yaml', 'k3'], repo.dir, env)).stdout).events;
    expect(key.map((event: { keyPath: string; event: string }) => `${event.keyPath} ${event.event}`)).toEqual([...Array.from({ length: (COMMITS - FILES) / FILES }, () => 'k3 changed'), 'k3 added']);
  }, 120_000);
});
