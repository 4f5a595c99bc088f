// Revisions as users write them for `coffer restore --at` and `coffer log --ref`: names, ids and
// git's ancestry suffixes, resolved exactly as `git rev-parse` resolves them.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { openRepository, type Repository } from '../../src/git/repository.js';
import { createTestRepo, type TestRepo } from './repo.js';

let repo: TestRepo;
let repository: Repository;

beforeAll(async () => {
  repo = await createTestRepo([
    { author: 'Ann <ann@example.com>', date: '2024-01-01T10:00:00Z', files: { 'a.txt': '1' } },
    { author: 'Ann <ann@example.com>', date: '2024-01-02T10:00:00Z', files: { 'a.txt': '2' }, branch: 'side' },
    { author: 'Bob <bob@example.com>', date: '2024-01-03T10:00:00Z', files: { 'b.txt': '3' }, branch: 'main' },
    { author: 'Bob <bob@example.com>', date: '2024-01-04T10:00:00Z', merge: 'side' },
  ]);
  repository = await openRepository({ fs: fs as never, dir: repo.dir });
});
afterAll(() => repo.dispose());

describe('resolveRef', () => {
  it.each(['HEAD', 'HEAD~1', 'HEAD^', 'HEAD^2', 'HEAD~2', 'main^1~1', 'side~1', 'HEAD^0'])('%s resolves as git rev-parse does', async (ref) => {
    expect(await repository.resolveRef(ref)).toBe(repo.git(['rev-parse', ref]).trim());
  });

  it('says so when a suffix goes past the first commit', async () => {
    await expect(repository.resolveRef('HEAD~9')).rejects.toThrow(CofferError);
    await expect(repository.resolveRef('HEAD~9')).rejects.toThrow(/past the first commit/);
  });
});
