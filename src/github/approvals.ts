// `coffer audit --approvals`: every commit that changed a secrets file on the default branch must
// have come through a merged pull request with enough approving reviews from people other than
// its author. The commits come from local history; GitHub says which pull request each came from.
import { type GitHubClient, type GitHubRepository, githubError } from './client.js';

/** One commit on the default branch and the secrets files it changed. */
export interface SecretChange {
  commit: string;
  /** The first line of the commit message (for the report; never a value). */
  subject: string;
  files: string[];
  /** Approvals the strictest environment among the files requires. */
  required: number;
  environments: string[];
}

export type ApprovalProblem = 'direct push' | 'self-approved' | 'not enough approvals';

export interface ChangeApproval extends SecretChange {
  pullRequest?: { number: number; url: string; author: string };
  /** Logins whose latest review approves, the author excluded. */
  approvers: string[];
  /** Set when the change does not meet its rule. */
  problem?: ApprovalProblem;
}

interface Review {
  user: { login: string } | null;
  state: string;
  submitted_at?: string;
}

/** Logins whose latest deciding review (approve, request changes, dismissed) is an approval. */
export function approvingReviewers(reviews: readonly Review[]): string[] {
  const latest = new Map<string, string>();
  for (const review of reviews) {
    if (!review.user || review.state === 'COMMENTED' || review.state === 'PENDING') continue;
    latest.set(review.user.login, review.state);
  }
  return [...latest].filter(([, state]) => state === 'APPROVED').map(([login]) => login);
}

/** Checks each change against GitHub; one commits->pulls request per commit and one reviews listing per pull request. */
export async function listApprovals(
  octokit: GitHubClient,
  repository: GitHubRepository,
  changes: readonly SecretChange[],
  options: { defaultBranch: string; onProgress?: (done: number, total: number) => void },
): Promise<ChangeApproval[]> {
  const reviewsByPull = new Map<number, Promise<Review[]>>();
  const results: ChangeApproval[] = [];
  for (const [index, change] of changes.entries()) {
    let pulls: { number: number; html_url: string; user: { login: string } | null; merged_at: string | null; base: { ref: string } }[];
    try {
      pulls = await octokit.paginate(octokit.rest.repos.listPullRequestsAssociatedWithCommit, { ...repository, commit_sha: change.commit, per_page: 100 });
    } catch (error) {
      throw githubError(error, `find the pull request of commit ${change.commit.slice(0, 7)}`, repository);
    }
    const pull = pulls.find((candidate) => candidate.merged_at !== null && candidate.base.ref === options.defaultBranch);
    if (!pull) {
      results.push({ ...change, approvers: [], problem: 'direct push' });
      options.onProgress?.(index + 1, changes.length);
      continue;
    }
    let reviews = reviewsByPull.get(pull.number);
    if (!reviews) {
      reviews = octokit.paginate(octokit.rest.pulls.listReviews, { ...repository, pull_number: pull.number, per_page: 100 }).catch((error: unknown) => {
        throw githubError(error, `list the reviews of pull request #${pull.number}`, repository);
      }) as Promise<Review[]>;
      reviewsByPull.set(pull.number, reviews);
    }
    const author = pull.user?.login ?? '';
    const approving = approvingReviewers(await reviews);
    const approvers = approving.filter((login) => login.toLowerCase() !== author.toLowerCase());
    const problem: ApprovalProblem | undefined =
      approvers.length >= change.required ? undefined : approving.length > approvers.length ? 'self-approved' : 'not enough approvals';
    results.push({ ...change, pullRequest: { number: pull.number, url: pull.html_url, author }, approvers, ...(problem ? { problem } : {}) });
    options.onProgress?.(index + 1, changes.length);
  }
  return results;
}
