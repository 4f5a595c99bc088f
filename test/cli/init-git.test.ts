// `coffer init` registers the coffer diff and merge drivers (unless --no-git-setup), and says how
// to do it later outside a git repository.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestKey } from '../helpers/keys.js';
import { createTestRepo, type TestRepo } from '../git/repo.js';
import { runInProcess } from './sandbox.js';

describe('coffer init and git', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });
  const repoFor = async () => {
    const repo: TestRepo = await createTestRepo();
    cleanup.push(() => repo.dispose());
    return repo;
  };

  it('writes .gitattributes and .git/config for the environments', async () => {
    const repo = await repoFor();
    const key = await makeTestKey();
    const env = { PATH: process.env.PATH, HOME: join(repo.dir, '.home') };
    const result = await runInProcess(['init', '--recipient', `alice=${key.recipient}`, '--environment', 'prod=secrets/prod/**'], repo.dir, env);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\.gitattributes: added 1 pattern/);
    expect(await readFile(join(repo.dir, '.gitattributes'), 'utf8')).toBe('secrets/prod/** diff=coffer merge=coffer\n');
    expect(repo.git(['config', 'merge.coffer.driver']).trim()).toBe('coffer merge-driver %O %A %B %P');
    expect(repo.git(['config', 'diff.coffer.textconv']).trim()).toBe('coffer diff-driver --textconv');
    expect(repo.git(['check-attr', 'merge', 'secrets/prod/app.yaml']).trim()).toBe('secrets/prod/app.yaml: merge: coffer');
  });

  it('leaves git alone with --no-git-setup', async () => {
    const repo = await repoFor();
    const key = await makeTestKey();
    const result = await runInProcess(['init', '--no-git-setup', '--recipient', `alice=${key.recipient}`], repo.dir, { PATH: process.env.PATH, HOME: join(repo.dir, '.home') });
    expect(result.code).toBe(0);
    expect(existsSync(join(repo.dir, '.gitattributes'))).toBe(false);
    expect(() => repo.git(['config', 'merge.coffer.driver'])).toThrow();
  });

  it('outside a git repository, writes coffer.yaml and says how to register the drivers later', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-init-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const key = await makeTestKey();
    const result = await runInProcess(['init', '--recipient', `alice=${key.recipient}`], dir, { PATH: process.env.PATH, HOME: dir });
    expect(result.code).toBe(0);
    expect(existsSync(join(dir, 'coffer.yaml'))).toBe(true);
    expect(result.stderr).toMatch(/not a git repository: after `git init`, run `coffer git-setup`/);
  });
});
