// Whether a plaintext file being imported was ever committed: then its values are in the history
// and importing them is not enough (they must be changed at their source).
import type { GitCommit, Repository } from '../git/repository.js';

/** Commits (oldest first) whose tree holds `path` (relative to the repository, with `/`). */
export async function findCommitsWithPath(repository: Repository, path: string): Promise<GitCommit[]> {
  let commits: GitCommit[];
  try {
    commits = await repository.listCommits();
  } catch {
    return []; // no commit yet
  }
  const found: GitCommit[] = [];
  for (const commit of commits) {
    if ((await repository.findBlob(commit.oid, path)) !== undefined) found.push(commit);
  }
  return found;
}
