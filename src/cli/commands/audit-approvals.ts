// `coffer audit --approvals`: every commit that changed a secrets file on the default branch, checked
// on GitHub for the pull request it came through and its approving reviews (not the author's);
// N per environment from coffer.yaml (`approvals.required`, default 1).
import { type SecretChange, listApprovals } from '../../github/approvals.js';
import { readDefaultBranch } from '../../github/pull-request.js';
import { type CliContext, writeJson } from '../context.js';
import { type HistoryCommandOptions, loadHistoryScope } from '../git-history.js';
import { connectGitHub, type GitHubCommandOptions } from '../github-remote.js';
import { formatTable } from '../table.js';

export interface ApprovalsAuditOptions extends HistoryCommandOptions, GitHubCommandOptions {
  json?: boolean;
}

/** Runs the audit; returns the number of changes that break their rule. */
export async function auditApprovals(context: CliContext, options: ApprovalsAuditOptions): Promise<number> {
  const probe = await loadHistoryScope(context, { ...options, decrypt: false, ref: 'HEAD' }, 'coffer audit --approvals');
  const github = await connectGitHub(context, probe.repository.dir, options, 'coffer audit --approvals');
  const defaultBranch = await readDefaultBranch(github.octokit, github.repository);
  // the default branch as this clone knows it: the local branch, else the remote-tracking one
  const ref = options.ref ?? ((await probe.repository.resolveRef(defaultBranch).then(() => defaultBranch, () => `origin/${defaultBranch}`)) as string);
  const scope = ref === 'HEAD' ? probe : await loadHistoryScope(context, { ...options, decrypt: false, ref }, 'coffer audit --approvals');
  const required = (environment: string) => scope.config?.environments.find((candidate) => candidate.name === environment)?.requiredApprovals ?? 1;
  const filesByCommit = new Map<string, Set<string>>();
  for (const revision of scope.history.revisions) {
    const files = filesByCommit.get(revision.commit) ?? new Set<string>();
    files.add(revision.path);
    filesByCommit.set(revision.commit, files);
  }
  const changes: SecretChange[] = [];
  for (const commit of scope.history.commits) {
    const files = filesByCommit.get(commit.oid);
    if (!files) continue;
    const environments = [...new Set([...files].map((file) => scope.environmentOf(file)).filter((name): name is string => name !== undefined))].sort();
    changes.push({ commit: commit.oid, subject: commit.message.split('\n')[0]!.slice(0, 120), files: [...files].sort(), environments, required: Math.max(1, ...environments.map(required)) });
  }
  const results = await listApprovals(github.octokit, github.repository, changes, { defaultBranch });
  const problems = results.filter((result) => result.problem !== undefined).length;
  if (options.json) writeJson(context, { repository: `${github.repository.owner}/${github.repository.repo}`, branch: defaultBranch, changes: results });
  else {
    const rows = results.map((result) => [result.commit.slice(0, 7), result.environments.join(',') || '-', result.pullRequest ? `#${result.pullRequest.number}` : '-', `${result.approvers.length}/${result.required}`, result.problem ?? 'ok', result.subject]);
    if (rows.length > 0) context.stdout.write(`${formatTable([['COMMIT', 'ENV', 'PR', 'APPROVALS', 'STATUS', 'SUBJECT'], ...rows])}\n`);
    context.stderr.write(`${problems} of ${results.length} change${results.length === 1 ? '' : 's'} to secrets files on ${defaultBranch} lack the approvals coffer.yaml requires\n`);
  }
  return problems;
}
