// Commits on a branch without checkout, pushed to a real smart-HTTP server (git http-backend) and
// checked by cloning back with the git CLI.
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../../src/errors.js';
import { commitOnBranch, readFileAtCommit, resolveCommit } from '../../src/git/branch.js';
import { fetchBranch, pushBranch, readRemoteBranch, readRemoteUrl } from '../../src/git/push.js';
import { createBareRepository, type GitHttpServer, runGit, runGitAsync, startGitHttpServer } from '../helpers/git-http-server.js';

const TOKEN = 'ghs_testtoken123';
let root: string;
let server: GitHttpServer;
let work: string;
let url: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'coffer-push-'));
  createBareRepository(join(root, 'srv'), 'acme/vault.git', { protect: ['main'] });
  server = await startGitHttpServer({ root: join(root, 'srv'), token: TOKEN });
  url = server.repositoryUrl('acme/vault.git');
  work = join(root, 'work');
  fs.mkdirSync(work);
  runGit(work, ['init', '-q', '-b', 'main']);
  fs.mkdirSync(join(work, 'secrets'));
  fs.writeFileSync(join(work, 'secrets', 'prod.yaml'), 'a: 1\n');
  fs.writeFileSync(join(work, 'README.md'), 'hello\n');
  runGit(work, ['add', '.']);
  runGit(work, ['commit', '-q', '-m', 'first']);
  runGit(work, ['remote', 'add', 'origin', url]);
  // the initial main goes up with the CLI before the hook protects later updates
  runGit(root, ['--git-dir', join(root, 'srv', 'acme/vault.git'), 'fetch', '-q', work, 'main:main']);
});

afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

async function cloneBack(branch: string): Promise<string> {
  const target = fs.mkdtempSync(join(root, 'clone-'));
  const authed = url.replace('http://', `http://x-access-token:${TOKEN}@`);
  await runGitAsync(root, ['clone', '-q', '--branch', branch, authed, target]);
  return target;
}

describe('commitOnBranch and pushBranch', () => {
  it('commits without touching HEAD or the working tree, pushes, and a second run adds nothing', async () => {
    const head = runGit(work, ['rev-parse', 'HEAD']).trim();
    const files = new Map([['secrets/prod.yaml', 'a: 2\n']]);
    const author = { name: 'coffer', email: 'coffer@localhost', timestamp: 1_700_000_000 };
    const first = await commitOnBranch({ fs, dir: work, branch: 'coffer/rotate-prod-2026-11-23', parent: head, files, message: 'rotate', author });
    expect(first.created).toBe(true);
    expect(runGit(work, ['rev-parse', 'HEAD']).trim()).toBe(head);
    expect(fs.readFileSync(join(work, 'secrets', 'prod.yaml'), 'utf8')).toBe('a: 1\n');
    expect(runGit(work, ['status', '--porcelain'])).toBe('');
    expect(runGit(work, ['show', `${first.oid}:secrets/prod.yaml`])).toBe('a: 2\n');
    expect(runGit(work, ['show', `${first.oid}:README.md`])).toBe('hello\n');

    expect(await readRemoteUrl({ fs, dir: work })).toBe(url);
    expect(await readRemoteBranch({ fs, dir: work, url, token: TOKEN }, 'coffer/rotate-prod-2026-11-23')).toBeUndefined();
    await pushBranch({ fs, dir: work, url, token: TOKEN }, 'coffer/rotate-prod-2026-11-23');
    const clone = await cloneBack('coffer/rotate-prod-2026-11-23');
    expect(fs.readFileSync(join(clone, 'secrets', 'prod.yaml'), 'utf8')).toBe('a: 2\n');
    expect(runGit(clone, ['log', '--format=%s|%P', '-n', '2']).trim().split('\n')).toEqual([`rotate|${head}`, 'first|']);

    const second = await commitOnBranch({ fs, dir: work, branch: 'coffer/rotate-prod-2026-11-23', parent: first.oid, files, message: 'rotate', author });
    expect(second).toEqual({ oid: first.oid, created: false });
    expect(await readRemoteBranch({ fs, dir: work, url, token: TOKEN }, 'coffer/rotate-prod-2026-11-23')).toBe(first.oid);
  });

  it('fetches a remote branch someone else moved and builds on it', async () => {
    const other = await cloneBack('coffer/rotate-prod-2026-11-23');
    fs.writeFileSync(join(other, 'NOTE.md'), 'from a reviewer\n');
    runGit(other, ['add', 'NOTE.md']);
    runGit(other, ['commit', '-q', '-m', 'note']);
    await runGitAsync(other, ['push', '-q', 'origin', 'coffer/rotate-prod-2026-11-23']);
    const tip = runGit(other, ['rev-parse', 'HEAD']).trim();

    // the local branch is now behind: pushing it is refused as a conflict
    await expect(pushBranch({ fs, dir: work, url, token: TOKEN }, 'coffer/rotate-prod-2026-11-23')).rejects.toMatchObject({ code: 'BRANCH_CONFLICT' });

    expect(await fetchBranch({ fs, dir: work, url, token: TOKEN }, 'coffer/rotate-prod-2026-11-23')).toBe(tip);
    const next = await commitOnBranch({ fs, dir: work, branch: 'coffer/rotate-prod-2026-11-23', parent: tip, files: new Map([['secrets/prod.yaml', 'a: 3\n']]), message: 'rotate again', author: { name: 'coffer', email: 'c@x' } });
    await pushBranch({ fs, dir: work, url, token: TOKEN }, 'coffer/rotate-prod-2026-11-23');
    const clone = await cloneBack('coffer/rotate-prod-2026-11-23');
    expect(runGit(clone, ['rev-parse', 'HEAD']).trim()).toBe(next.oid);
    expect(fs.readFileSync(join(clone, 'NOTE.md'), 'utf8')).toBe('from a reviewer\n');
    expect(new TextDecoder().decode(await readFileAtCommit({ fs, dir: work }, next.oid, 'secrets/prod.yaml'))).toBe('a: 3\n');
    expect(await readFileAtCommit({ fs, dir: work }, next.oid, 'missing.yaml')).toBeUndefined();
    expect(await resolveCommit({ fs, dir: work }, 'refs/heads/nope')).toBeUndefined();
  });

  it('names a protected branch, a rejected token and a missing token', async () => {
    const head = runGit(work, ['rev-parse', 'HEAD']).trim();
    await commitOnBranch({ fs, dir: work, branch: 'main', parent: head, files: new Map([['x.txt', 'x\n']]), message: 'direct', author: { name: 'a', email: 'a@x' } });
    const protectedError = await pushBranch({ fs, dir: work, url, token: TOKEN }, 'main').catch((error: unknown) => error);
    expect(isCofferError(protectedError) && protectedError.code).toBe('BRANCH_PROTECTED');
    runGit(work, ['update-ref', 'refs/heads/main', head]);

    const wrong = await readRemoteBranch({ fs, dir: work, url, token: 'wrong' }, 'main').catch((error: unknown) => error);
    expect(isCofferError(wrong) && wrong.code).toBe('GITHUB_PERMISSION_DENIED');
    expect(String((wrong as Error).message)).not.toContain('wrong');
    const none = await readRemoteBranch({ fs, dir: work, url }, 'main').catch((error: unknown) => error);
    expect(isCofferError(none) && none.code).toBe('GITHUB_PERMISSION_DENIED');
  });

  it('never shows a token carried in the remote URL', async () => {
    // an empty remote answers a fetch with no head at all
    createBareRepository(join(root, 'srv'), 'acme/empty.git');
    const authed = server.repositoryUrl('acme/empty.git').replace('http://', `http://x-access-token:${TOKEN}@`);
    const missing = await fetchBranch({ fs, dir: work, url: authed, token: TOKEN }, 'main').catch((error: unknown) => error);
    expect(isCofferError(missing) && missing.code).toBe('PUSH_FAILED');
    expect(String((missing as Error).message)).not.toContain(TOKEN);
  });
});
