// Who reviews a rotation pull request: the environment's `owners:` in coffer.yaml (recipients with
// a `github:` login, groups expanded), else the CODEOWNERS rules for its files.
import { type CofferConfig, expandRecipients, type PolicyEnvironment } from '../policy/coffer-config.js';
import { globToRegExp } from '../policy/glob.js';

export interface ReviewerSet {
  /** GitHub logins. */
  reviewers: string[];
  /** Team slugs. */
  teamReviewers: string[];
  /** Where they came from, for the plan output. */
  source: 'coffer.yaml' | 'CODEOWNERS' | 'none';
}

/** Paths GitHub reads CODEOWNERS from, in its order of precedence. */
export const CODEOWNERS_PATHS = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'];

interface CodeOwnersRule {
  pattern: RegExp;
  owners: string[];
}

/** A CODEOWNERS pattern (gitignore-like) as a regular expression over repository paths. */
function codeOwnersPattern(text: string): RegExp | undefined {
  let glob = text;
  const anchored = glob.startsWith('/') || glob.slice(0, -1).includes('/');
  glob = glob.replace(/^\//, '');
  if (glob.endsWith('/')) glob = `${glob}**`;
  if (!anchored) glob = `**/${glob}`;
  try {
    const exact = globToRegExp(glob);
    // a pattern naming a directory also owns everything below it
    const below = globToRegExp(`${glob.replace(/\/\*\*$/, '')}/**`);
    return new RegExp(`(?:${exact.source})|(?:${below.source})`);
  } catch {
    return undefined;
  }
}

export function parseCodeOwners(text: string): CodeOwnersRule[] {
  const rules: CodeOwnersRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const [pattern, ...owners] = line.split(/\s+/);
    const compiled = pattern ? codeOwnersPattern(pattern) : undefined;
    if (compiled) rules.push({ pattern: compiled, owners });
  }
  return rules;
}

/** The owners of a path: the last matching rule wins, as on GitHub. */
export function ownersOfPath(rules: readonly CodeOwnersRule[], path: string): string[] {
  for (let index = rules.length - 1; index >= 0; index--) if (rules[index]!.pattern.test(path)) return rules[index]!.owners;
  return [];
}

function toReviewerSet(owners: Iterable<string>, source: ReviewerSet['source']): ReviewerSet {
  const reviewers = new Set<string>();
  const teamReviewers = new Set<string>();
  for (const owner of owners) {
    if (!owner.startsWith('@')) continue; // e-mail owners cannot be requested by API
    const [first, team] = owner.slice(1).split('/');
    if (team) teamReviewers.add(team);
    else if (first) reviewers.add(first);
  }
  return { reviewers: [...reviewers], teamReviewers: [...teamReviewers], source: reviewers.size + teamReviewers.size > 0 ? source : 'none' };
}

/** Reviewers for a change to `paths` (repository paths) of an environment. */
export function resolveReviewers(config: CofferConfig | undefined, environment: PolicyEnvironment | undefined, paths: readonly string[], codeOwnersText?: string): ReviewerSet {
  const owners = environment?.owners;
  if (config && owners && owners.length > 0) {
    const logins = expandRecipients(config, owners)
      .map((name) => config.recipients.get(name)?.github)
      .filter((login): login is string => login !== undefined);
    const set = toReviewerSet(logins.map((login) => `@${login}`), 'coffer.yaml');
    if (set.source !== 'none') return set;
  }
  if (codeOwnersText !== undefined) {
    const rules = parseCodeOwners(codeOwnersText);
    return toReviewerSet(new Set(paths.flatMap((path) => ownersOfPath(rules, path))), 'CODEOWNERS');
  }
  return { reviewers: [], teamReviewers: [], source: 'none' };
}

/** Labels of a rotation or offboarding pull request. */
export function pullRequestLabels(kind: 'rotation' | 'offboarding', environment?: string): string[] {
  return ['coffer', `coffer:${kind}`, ...(environment ? [`env:${environment}`] : [])];
}
