// publishChange without a remote (--no-push): the branch is reused, an unchanged tree makes no
// commit, and a branch forked before the base changed one of its files is a BRANCH_CONFLICT.
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishChange } from '../../src/rotation/publish.js';
import { createTestRepo, type TestRepo } from '../git/repo.js';

let repo: TestRepo;

beforeEach(async () => {
  repo = await createTestRepo([{ author: 'Alice <alice@example.com>', date: '2026-01-01T00:00:00Z', files: { 'secrets/prod.yaml': 'a: 1\n', 'README.md': 'one\n' } }]);
});

afterEach(async () => {
  await repo.dispose();
});

const request = (content: string) => ({
  fs,
  dir: repo.dir,
  branch: 'coffer/rotate-prod-2026-11-23',
  reusePrefix: 'coffer/rotate-prod-',
  paths: ['secrets/prod.yaml'],
  message: 'rotate',
  author: { name: 'coffer', email: 'coffer@localhost' },
  pullRequest: { title: 't', body: 'b' },
  buildFiles: async () => new Map([['secrets/prod.yaml', content]]),
});

describe('publishChange without a remote', () => {
  it('commits once, reuses an earlier branch of the same kind and never commits an unchanged tree', async () => {
    const first = await publishChange(request('a: 2\n'));
    expect(first).toMatchObject({ branch: 'coffer/rotate-prod-2026-11-23', committed: true, pushed: false });
    const again = await publishChange({ ...request('a: 2\n'), branch: 'coffer/rotate-prod-2026-11-24' });
    expect(again).toMatchObject({ branch: 'coffer/rotate-prod-2026-11-23', commit: first.commit, committed: false });
    expect(repo.git(['rev-list', '--count', 'coffer/rotate-prod-2026-11-23']).trim()).toBe('2');
    expect(repo.git(['branch', '--list', 'coffer/rotate-prod-2026-11-24'])).toBe('');
  });

  it('builds on a branch whose base moved elsewhere, refuses one whose files moved on the base', async () => {
    await publishChange(request('a: 2\n'));
    repo.commit({ author: 'Bob <bob@example.com>', date: '2026-01-02T00:00:00Z', files: { 'README.md': 'two\n' } });
    const unrelated = await publishChange(request('a: 3\n'));
    expect(unrelated.committed).toBe(true);
    repo.commit({ author: 'Bob <bob@example.com>', date: '2026-01-03T00:00:00Z', files: { 'secrets/prod.yaml': 'a: 1\nb: 1\n' } });
    await expect(publishChange(request('a: 4\n'))).rejects.toMatchObject({
      code: 'BRANCH_CONFLICT',
      message: 'coffer/rotate-prod-2026-11-23 was forked before secrets/prod.yaml changed on the base branch',
    });
  });

  it('makes no branch when there is nothing to commit', async () => {
    const result = await publishChange({ ...request(''), buildFiles: async () => new Map() });
    expect(result).toMatchObject({ committed: false, pushed: false });
    expect(repo.git(['branch', '--list', 'coffer/*'])).toBe('');
  });
});
