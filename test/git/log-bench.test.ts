// Timing of `coffer log` on a generated repository: 500 commits over 20 secrets files (one value
// changed per commit, stable ciphertext), written with git fast-import. Prints the time and the
// time of `git log --format=%H -- FILE`; asserts only the event count.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyRingFor, makeTestKey } from '../helpers/keys.js';
import { runInProcess } from '../cli/sandbox.js';
import { createTestRepo, SecretsWriter, type TestRepo } from './repo.js';

const FILES = 20;
const COMMITS = 500;

describe('coffer log on 500 commits over 20 files', () => {
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

  it('walks the history once and reports the time', async () => {
    const env = { PATH: process.env.PATH, HOME: `${repo.dir}/.home` };
    let started = performance.now();
    const all = await runInProcess(['log', '--json', '--no-decrypt'], repo.dir, env);
    const whole = performance.now() - started;
    started = performance.now();
    const one = await runInProcess(['log', '--json', '--no-decrypt', 'secrets/f3.yaml'], repo.dir, env);
    const perFile = performance.now() - started;
    started = performance.now();
    execFileSync('git', ['log', '--format=%H', '--', 'secrets/f3.yaml'], { cwd: repo.dir });
    const gitTime = performance.now() - started;
    expect(JSON.parse(all.stdout).events.length).toBe(FILES * 10 + (COMMITS - FILES));
    expect(JSON.parse(one.stdout).events.length).toBe(10 + (COMMITS - FILES) / FILES);
    process.stderr.write(`coffer log (all files): ${whole.toFixed(0)} ms; coffer log FILE: ${perFile.toFixed(0)} ms; git log --format=%H -- FILE: ${gitTime.toFixed(0)} ms\n`);
  }, 120_000);
});
