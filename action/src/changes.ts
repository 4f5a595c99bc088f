// Verify mode's view of a pull request: the base commit (from the event payload or the `base`
// input), the files the pull request adds or modifies (`git diff` against the base), and where
// the policy's directory sits in the repository so problems can be annotated by repository path.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { CofferError } from '../../src/errors.js';

function git(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', [...args], { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolve(stdout);
    });
  });
}

/** The base commit of the event: `pull_request.base.sha` (pull_request, pull_request_target), else `before` of a push. */
export async function baseOfEvent(eventPath: string | undefined): Promise<string | undefined> {
  if (!eventPath) return undefined;
  let event: unknown;
  try {
    event = JSON.parse(await readFile(eventPath, 'utf8'));
  } catch {
    return undefined;
  }
  const payload = event as { pull_request?: { base?: { sha?: unknown } }; merge_group?: { base_sha?: unknown }; before?: unknown };
  const candidates = [payload.pull_request?.base?.sha, payload.merge_group?.base_sha, payload.before];
  const sha = candidates.find((value): value is string => typeof value === 'string' && /^[0-9a-f]{40}$/.test(value) && !/^0+$/.test(value));
  return sha;
}

export async function repositoryRoot(cwd: string): Promise<string> {
  try {
    return (await git(cwd, ['rev-parse', '--show-toplevel'])).trim();
  } catch (cause) {
    throw new CofferError('USAGE', `${cwd} is not inside a git repository`, { hints: ['run actions/checkout before this step'], cause });
  }
}

/** Makes sure the base commit is present (a shallow checkout may lack it), fetching it once if not. */
async function ensureCommit(root: string, sha: string): Promise<void> {
  try {
    await git(root, ['cat-file', '-e', `${sha}^{commit}`]);
  } catch {
    try {
      await git(root, ['fetch', '--no-tags', '--quiet', '--depth=1', 'origin', sha]);
    } catch (cause) {
      throw new CofferError('USAGE', `the base commit ${sha.slice(0, 12)} is not in the checkout and could not be fetched`, {
        hints: ['check out with fetch-depth: 0 (actions/checkout) so the base is present'],
        cause,
      });
    }
  }
}

/**
 * Files added, modified, renamed or copied since the base (repository-relative, `/`): against the
 * merge base when history allows (`base...HEAD`, what the pull request changes), else the base itself.
 */
export async function changedFiles(root: string, base: string): Promise<string[]> {
  await ensureCommit(root, base);
  const output = await diffAgainst(root, base, ['--name-only', '-z']);
  return output.split('\0').filter((path) => path !== '');
}

async function diffAgainst(root: string, base: string, args: readonly string[]): Promise<string> {
  const diff = (range: string) => git(root, ['-c', 'core.quotepath=off', 'diff', '--no-color', '--no-ext-diff', '--diff-filter=d', ...args, range]);
  try {
    return await diff(`${base}...HEAD`);
  } catch {
    return diff(base);
  }
}

/**
 * The first line each changed file adds or modifies (repository paths): where a problem that has no
 * line of its own (a plaintext file, wrong recipients) is annotated, so it shows in the pull request's diff.
 */
export async function firstChangedLines(root: string, base: string): Promise<Map<string, number>> {
  const output = await diffAgainst(root, base, ['--unified=0', '--no-renames']);
  const first = new Map<string, number>();
  let file: string | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith('+++ ')) file = line.startsWith('+++ b/') ? line.slice(6) : undefined;
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk && file !== undefined && !first.has(file) && hunk[2] !== '0') first.set(file, Math.max(1, Number(hunk[1])));
  }
  return first;
}

/** Repository-relative path of a file named relative to the policy's directory. */
export function repositoryPath(root: string, policyDir: string, file: string): string {
  const absolute = isAbsolute(file) ? file : join(policyDir, file);
  return relative(root, absolute).split(sep).join('/');
}

/** Changed files under the policy's directory, as verify wants them (absolute); undefined = check everything (the policy itself changed). */
export function pathsToVerify(root: string, policyFile: string, changed: readonly string[]): string[] | undefined {
  const policyDir = dirname(policyFile);
  const policyPath = repositoryPath(root, policyDir, policyFile);
  if (changed.includes(policyPath)) return undefined;
  return changed.map((path) => join(root, path)).filter((path) => !relative(policyDir, path).startsWith('..'));
}
