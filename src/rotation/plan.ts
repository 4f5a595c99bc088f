// What `coffer rotate --due` will do: the due secrets (from `coffer status`) grouped by
// environment, each group one branch and one pull request; and the pull request's text, which
// names key paths, ages and rules but never a value.
import type { SecretState, SecretStatus } from '../audit/status.js';

/** A secret whose rule says it must change now (or within the window). */
export interface DueSecret {
  file: string;
  keyPath: string;
  environment: string;
  state: SecretState;
  ageDays: number;
  /** `rotate 90d`, `expires 2026-12-31`. */
  policy: string;
  /** The credential kind that generates a new value; absent: it must be changed by hand. */
  generator?: string;
}

export interface RotationPlan {
  environment: string;
  /** `coffer/rotate-<environment>-<YYYY-MM-DD>` (an earlier open one is reused). */
  branch: string;
  secrets: DueSecret[];
}

export const DUE_STATES: readonly SecretState[] = ['expired', 'overdue', 'due soon'];

export const BRANCH_PREFIX = 'coffer/rotate-';

export function rotationBranchPrefix(environment: string): string {
  return `${BRANCH_PREFIX}${environment}-`;
}

export function rotationBranch(environment: string, date: Date): string {
  return `${rotationBranchPrefix(environment)}${date.toISOString().slice(0, 10)}`;
}

export function describePolicy(status: Pick<SecretStatus, 'rotate' | 'expires'>): string {
  return [status.rotate ? `rotate ${status.rotate}` : '', status.expires ? `expires ${status.expires}` : ''].filter(Boolean).join(', ') || '-';
}

/** One plan per environment with due secrets, environments and secrets in a stable order. */
export function planRotations(secrets: readonly DueSecret[], date: Date): RotationPlan[] {
  const byEnvironment = new Map<string, DueSecret[]>();
  for (const secret of secrets) {
    const list = byEnvironment.get(secret.environment) ?? [];
    list.push(secret);
    byEnvironment.set(secret.environment, list);
  }
  return [...byEnvironment]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([environment, list]) => ({
      environment,
      branch: rotationBranch(environment, date),
      secrets: [...list].sort((a, b) => (a.file === b.file ? (a.keyPath < b.keyPath ? -1 : 1) : a.file < b.file ? -1 : 1)),
    }));
}

/** Markdown table cells never break on a `|` or a newline in a key path. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replace(/[\r\n]+/g, ' ');
}

const code = (text: string) => `\`${cell(text).replaceAll('`', "'")}\``;

export function rotationTitle(plan: RotationPlan): string {
  const count = plan.secrets.length;
  return `coffer: rotate ${count} secret${count === 1 ? '' : 's'} in ${plan.environment}`;
}

export function rotationCommitMessage(plan: RotationPlan, generated: readonly DueSecret[]): string {
  const lines = generated.map((secret) => `- ${secret.file}: ${secret.keyPath} (${secret.generator})`);
  return `coffer: rotate ${generated.length} generated secret${generated.length === 1 ? '' : 's'} in ${plan.environment}\n\n${lines.join('\n')}\n`;
}

/** The pull request body: a table of every due secret and a checklist of the manual ones. */
export function rotationBody(plan: RotationPlan): string {
  const manual = plan.secrets.filter((secret) => !secret.generator);
  const rows = plan.secrets.map((secret) =>
    `| ${code(`${secret.file}: ${secret.keyPath}`)} | ${cell(secret.environment)} | ${secret.ageDays}d | ${cell(secret.policy)} (${secret.state}) | ${secret.generator ? `generated (${cell(secret.generator)})` : 'manual'} |`,
  );
  const parts = [
    `<!-- coffer:rotation environment=${plan.environment} -->`,
    `Secrets of **${plan.environment}** that are due under their schema's \`x-coffer\` rules. Values stay encrypted: this pull request contains no plaintext, and reviewers approve key paths, not values.`,
    '',
    '| Key path | Environment | Age | Policy | Change |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ];
  if (manual.length > 0) {
    parts.push('', '### Change at the source', '', 'These have no generator: change each one where it is issued, then `coffer set FILE KEY` on this branch.', '');
    for (const secret of manual) parts.push(`- [ ] ${code(`${secret.file}: ${secret.keyPath}`)} (${cell(secret.policy)})`);
  }
  const generated = plan.secrets.length - manual.length;
  if (generated > 0) {
    const one = generated === 1;
    parts.push('', `${one ? 'The generated value was' : `The ${generated} generated values were`} encrypted under the file's data key; every other value keeps its ciphertext. Put ${one ? 'it' : 'them'} in place where ${one ? 'it is' : 'they are'} used before merging.`);
  }
  return `${parts.join('\n')}\n`;
}

/** The offboarding pull request after `coffer revoke NAME`: every value they could read, as a checklist. */
export function offboardingBody(name: string, files: readonly { path: string; environment: string | null; keyPaths: string[] }[]): string {
  const parts = [
    `<!-- coffer:offboarding recipient=${name} -->`,
    `**${name}** was removed from coffer.yaml and every file they could read has a new data key. A new data key cannot undo what they already read: change each value below at its source, then \`coffer set\` the new value. This pull request contains no plaintext.`,
    '',
    '| File | Environment | Values |',
    '| --- | --- | --- |',
    ...files.map((file) => `| ${code(file.path)} | ${cell(file.environment ?? '-')} | ${file.keyPaths.length} |`),
    '',
    '### Change at the source',
    '',
  ];
  for (const file of files) for (const keyPath of file.keyPaths) parts.push(`- [ ] ${code(`${file.path}: ${keyPath}`)}`);
  return `${parts.join('\n')}\n`;
}
