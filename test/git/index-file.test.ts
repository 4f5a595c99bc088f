// The native git index reader against git itself, on real temp repositories: every entry git
// lists (path, mode, blob id) for index versions 2, 3 and 4, and what it refuses (unmerged paths,
// a split index, a damaged file). Then verify's staged source built on it: the same paths and
// bytes as `git show :PATH`, from loose objects, from a pack and in a linked worktree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIndex } from '../../src/git/index-file.js';
import { indexSource } from '../../src/verify/sources.js';

const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_NOSYSTEM: '1' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', env });

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function repository(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-index-'));
  dirs.push(dir);
  git(dir, 'init', '-q');
  mkdirSync(join(dir, 'secrets/dev/deep'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'a\n');
  writeFileSync(join(dir, 'secrets/dev/app.yaml'), 'key: value\n');
  writeFileSync(join(dir, 'secrets/dev/deep/ünïcode name.env'), 'A=1\n');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  for (let index = 0; index < 30; index++) writeFileSync(join(dir, 'secrets', `file-${String(index).padStart(2, '0')}-with-a-longer-name.yaml`), `n: ${index}\n`);
  symlinkSync('a.txt', join(dir, 'link'));
  git(dir, 'add', '-A');
  // a submodule's commit (a gitlink), without the submodule
  git(dir, 'update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},vendor/sub`);
  return dir;
}

/** What git says is staged: path -> "mode oid" (stage 0). */
function listedByGit(dir: string): Map<string, string> {
  const listed = new Map<string, string>();
  for (const line of git(dir, '-c', 'core.quotepath=off', 'ls-files', '-s', '-z').split('\0').filter(Boolean)) {
    const [info, path] = line.split('\t') as [string, string];
    const [mode, oid] = info.split(' ');
    listed.set(path, `${mode} ${oid}`);
  }
  return listed;
}

function parsed(dir: string): Map<string, string> | undefined {
  const entries = parseIndex(readFileSync(join(dir, '.git/index')));
  return entries && new Map(entries.map((entry) => [entry.path, `${entry.mode.toString(8).padStart(6, '0')} ${entry.oid}`]));
}

describe('parseIndex', () => {
  it('reads every entry git lists, in index versions 2, 3 and 4', async () => {
    const dir = await repository();
    for (const version of ['2', '3', '4']) {
      // git writes version 2 when asked for 3 and no entry needs extended flags
      git(dir, 'update-index', '--index-version', version);
      expect(parsed(dir), `version ${version}`).toEqual(listedByGit(dir));
    }
    // an intent-to-add entry carries extended flags (version 3)
    writeFileSync(join(dir, 'later.txt'), 'later\n');
    git(dir, 'update-index', '--index-version', '3');
    git(dir, 'add', '--intent-to-add', 'later.txt');
    expect(readFileSync(join(dir, '.git/index')).readUInt32BE(4)).toBe(3);
    expect(parsed(dir)).toEqual(listedByGit(dir));
    git(dir, 'update-index', '--index-version', '4');
    expect(readFileSync(join(dir, '.git/index')).readUInt32BE(4)).toBe(4);
    expect(parsed(dir)).toEqual(listedByGit(dir));
    const sizes = new Map(parseIndex(readFileSync(join(dir, '.git/index')))!.map((entry) => [entry.path, entry.size]));
    expect(sizes.get('secrets/dev/app.yaml')).toBe(11);
  });

  it('refuses what it does not model: unmerged paths, a split index, damage', async () => {
    const dir = await repository();
    const oid = listedByGit(dir).get('a.txt')!.split(' ')[1];
    execFileSync('git', ['update-index', '--index-info'], { cwd: dir, env, input: `0 ${'0'.repeat(40)}\ta.txt\n100644 ${oid} 1\ta.txt\n100644 ${oid} 2\ta.txt\n` });
    expect(git(dir, 'ls-files', '-u')).toContain('a.txt');
    expect(parsed(dir)).toBeUndefined();

    const split = await repository();
    expect(parsed(split)).toBeDefined();
    git(split, 'update-index', '--split-index');
    expect(parsed(split)).toBeUndefined();

    const damaged = await repository();
    const bytes = readFileSync(join(damaged, '.git/index'));
    bytes[40] = bytes[40]! ^ 1;
    expect(parseIndex(bytes)).toBeUndefined();
    expect(parseIndex(Buffer.from('DIRC'))).toBeUndefined();
    expect(parseIndex(Buffer.alloc(64))).toBeUndefined();
  });
});

describe("verify's staged source", () => {
  const sameAsGit = async (dir: string, root = dir, prefix = '') => {
    const source = await indexSource(root);
    try {
      const expected = [...listedByGit(dir).entries()]
        .filter(([path, info]) => !info.startsWith('160000') && path.startsWith(prefix))
        .map(([path]) => path.slice(prefix.length))
        .sort();
      expect(await source.list()).toEqual(expected);
      for (const path of expected) {
        const content = execFileSync('git', ['show', `:${prefix}${path}`], { cwd: dir, env });
        expect(Buffer.from((await source.read(path))!).equals(content), path).toBe(true);
        expect((await source.load(path, 1 << 20)).content).toEqual(await source.read(path));
      }
      expect(await source.read('missing.yaml')).toBeUndefined();
      expect((await source.load('secrets/dev/app.yaml', 3)).content).toBeUndefined();
    } finally {
      source.close?.();
    }
  };

  it('gives the staged bytes, not the working tree, from loose objects and from a pack', async () => {
    const dir = await repository();
    writeFileSync(join(dir, 'secrets/dev/app.yaml'), 'key: changed in the working tree only\n');
    await sameAsGit(dir);
    await sameAsGit(dir, join(dir, 'secrets'), 'secrets/');
    git(dir, 'commit', '-q', '-m', 'x');
    git(dir, 'gc', '-q');
    expect(git(dir, 'count-objects', '-v')).toMatch(/in-pack: [1-9]/);
    await sameAsGit(dir);
    git(dir, 'update-index', '--index-version', '4');
    await sameAsGit(dir);
  });

  it('reads a linked worktree (a .git file and a common directory)', async () => {
    const dir = await repository();
    git(dir, 'commit', '-q', '-m', 'x');
    const linked = join(dir, '..', `${dir.split('/').pop()}-linked`);
    dirs.push(linked);
    git(dir, 'worktree', 'add', '-q', linked);
    writeFileSync(join(linked, 'secrets/dev/app.yaml'), 'key: staged in the linked tree\n');
    git(linked, 'add', 'secrets/dev/app.yaml');
    await sameAsGit(linked);
  });

  it('falls back to isomorphic-git for an index it refuses (unmerged paths)', async () => {
    const dir = await repository();
    const oid = listedByGit(dir).get('a.txt')!.split(' ')[1];
    execFileSync('git', ['update-index', '--index-info'], { cwd: dir, env, input: `0 ${'0'.repeat(40)}\ta.txt\n100644 ${oid} 1\ta.txt\n100644 ${oid} 2\ta.txt\n` });
    expect(parsed(dir)).toBeUndefined();
    const source = await indexSource(dir);
    expect(await source.list()).toContain('secrets/dev/app.yaml');
    expect(Buffer.from((await source.read('secrets/dev/app.yaml'))!).toString()).toBe('key: value\n');
  });
});
