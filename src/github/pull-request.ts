// Find-or-create a pull request by its head branch: never a second one. An open pull request from
// the branch is brought up to date (title, body, labels, reviewers) with only the writes needed.
import { CofferError } from '../errors.js';
import { type GitHubClient, type GitHubRepository, githubError } from './client.js';

export interface PullRequestSpec {
  /** The branch with the changes (in the same repository). */
  head: string;
  /** The branch to merge into (default: the repository's default branch). */
  base?: string;
  title: string;
  body: string;
  labels?: readonly string[];
  /** GitHub logins. */
  reviewers?: readonly string[];
  /** Team slugs (the part after `org/`). */
  teamReviewers?: readonly string[];
}

export interface PullRequestResult {
  number: number;
  url: string;
  /** created: a new pull request; updated: title, body, labels or reviewers changed; unchanged: nothing to write. */
  action: 'created' | 'updated' | 'unchanged';
}

interface PullSummary {
  number: number;
  html_url: string;
  title: string;
  body: string | null;
  user: { login: string } | null;
  labels: { name?: string }[];
  requested_reviewers?: { login: string }[] | null;
  requested_teams?: { slug: string }[] | null;
}

/** Open pull requests whose head is `branch` (several pages are read when there are many). */
export async function findOpenPullRequests(octokit: GitHubClient, repository: GitHubRepository, branch: string): Promise<PullSummary[]> {
  try {
    const pulls = await octokit.paginate(octokit.rest.pulls.list, { ...repository, state: 'open', head: `${repository.owner}:${branch}`, per_page: 100 });
    return (pulls as PullSummary[]).filter((pull) => (pull as PullSummary & { head?: { ref?: string } }).head?.ref === branch);
  } catch (error) {
    throw githubError(error, `list the pull requests of ${branch}`, repository);
  }
}

/** Open pull requests whose head branch starts with `prefix` (an earlier run of the same rotation). */
export async function findOpenPullRequestBranches(octokit: GitHubClient, repository: GitHubRepository, prefix: string): Promise<string[]> {
  try {
    const pulls = await octokit.paginate(octokit.rest.pulls.list, { ...repository, state: 'open', per_page: 100 });
    return pulls.map((pull) => pull.head.ref).filter((ref) => ref.startsWith(prefix));
  } catch (error) {
    throw githubError(error, 'list the open pull requests', repository);
  }
}

export async function readDefaultBranch(octokit: GitHubClient, repository: GitHubRepository): Promise<string> {
  try {
    return (await octokit.rest.repos.get({ owner: repository.owner, repo: repository.repo })).data.default_branch;
  } catch (error) {
    throw githubError(error, 'read the repository', repository);
  }
}

async function createPullRequest(octokit: GitHubClient, repository: GitHubRepository, spec: PullRequestSpec, base: string): Promise<PullSummary | undefined> {
  try {
    const { data } = await octokit.rest.pulls.create({ ...repository, head: spec.head, base, title: spec.title, body: spec.body, maintainer_can_modify: true });
    return data as PullSummary;
  } catch (error) {
    const status = (error as { status?: number }).status;
    const message = String((error as Error).message ?? '');
    // Another run created it between our look-up and this request: use that one.
    if (status === 422 && /already exists/i.test(message)) return undefined;
    if (status === 422 && /no commits between/i.test(message)) {
      throw new CofferError('BRANCH_CONFLICT', `${repository.owner}/${repository.repo}: ${spec.head} has no commits that ${base} lacks; no pull request to open`, {
        hints: ['the changes may already be merged; run `coffer status` to see what is still due'],
        cause: error,
      });
    }
    throw githubError(error, `create the pull request from ${spec.head}`, repository);
  }
}

/**
 * The open pull request from `spec.head`, created if there is none, with its title, body, labels
 * and requested reviewers brought in line with `spec`. Labels and reviewers are only added: people
 * may have changed them by hand.
 */
export async function findOrCreatePullRequest(octokit: GitHubClient, repository: GitHubRepository, spec: PullRequestSpec): Promise<PullRequestResult> {
  let [pull] = await findOpenPullRequests(octokit, repository, spec.head);
  let action: PullRequestResult['action'] = 'unchanged';
  if (!pull) {
    const base = spec.base ?? (await readDefaultBranch(octokit, repository));
    pull = await createPullRequest(octokit, repository, spec, base);
    if (pull) action = 'created';
    else [pull] = await findOpenPullRequests(octokit, repository, spec.head);
    if (!pull) throw new CofferError('GITHUB_REQUEST_FAILED', `${repository.owner}/${repository.repo}: the pull request from ${spec.head} was neither created nor found`, { hints: ['run the command again'] });
  } else if (pull.title !== spec.title || (pull.body ?? '') !== spec.body) {
    try {
      await octokit.rest.pulls.update({ ...repository, pull_number: pull.number, title: spec.title, body: spec.body });
    } catch (error) {
      throw githubError(error, `update pull request #${pull.number}`, repository);
    }
    action = 'updated';
  }
  const present = new Set(pull.labels.map((label) => label.name));
  const labels = (spec.labels ?? []).filter((label) => !present.has(label));
  if (labels.length > 0) {
    try {
      await octokit.rest.issues.addLabels({ ...repository, issue_number: pull.number, labels });
    } catch (error) {
      throw githubError(error, `label pull request #${pull.number}`, repository);
    }
    if (action === 'unchanged') action = 'updated';
  }
  if (await requestMissingReviewers(octokit, repository, pull, spec, action === 'created')) action = action === 'unchanged' ? 'updated' : action;
  return { number: pull.number, url: pull.html_url, action };
}

/**
 * Requests the reviewers of `spec` who are neither requested nor have reviewed already (GitHub
 * drops a reviewer from the requested list once they review; asking again would nag them).
 * GitHub refuses a request for the author. True when a request was made.
 */
async function requestMissingReviewers(octokit: GitHubClient, repository: GitHubRepository, pull: PullSummary, spec: PullRequestSpec, created: boolean): Promise<boolean> {
  const requested = new Set((pull.requested_reviewers ?? []).map((user) => user.login.toLowerCase()));
  const author = pull.user?.login.toLowerCase();
  let reviewers = [...new Set(spec.reviewers ?? [])].filter((login) => !requested.has(login.toLowerCase()) && login.toLowerCase() !== author);
  const teams = new Set((pull.requested_teams ?? []).map((team) => team.slug));
  const teamReviewers = [...new Set(spec.teamReviewers ?? [])].filter((slug) => !teams.has(slug));
  if (reviewers.length > 0 && !created) {
    try {
      const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { owner: repository.owner, repo: repository.repo, pull_number: pull.number, per_page: 100 });
      const reviewed = new Set(reviews.map((review) => review.user?.login.toLowerCase()));
      reviewers = reviewers.filter((login) => !reviewed.has(login.toLowerCase()));
    } catch (error) {
      throw githubError(error, `list the reviews of pull request #${pull.number}`, repository);
    }
  }
  // teams cannot be told apart from "already reviewed" without more requests: only asked once, on creation
  const teamsToAsk = created ? teamReviewers : [];
  if (reviewers.length === 0 && teamsToAsk.length === 0) return false;
  try {
    await octokit.rest.pulls.requestReviewers({ owner: repository.owner, repo: repository.repo, pull_number: pull.number, reviewers, team_reviewers: teamsToAsk });
  } catch (error) {
    throw githubError(error, `request reviewers on pull request #${pull.number}`, repository);
  }
  return true;
}
