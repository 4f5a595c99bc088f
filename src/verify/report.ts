// What `coffer verify` finds: one problem per finding, with the rule it broke, the file and key
// path, never a value. Rules are a fixed table so SARIF and scripts can rely on their ids.

export const RULES = {
  'policy-invalid': { level: 'error', text: 'the policy file (coffer.yaml or .sops.yaml) is invalid' },
  'schema-invalid': { level: 'error', text: 'a schema named in coffer.yaml is missing or invalid' },
  'not-encrypted': { level: 'error', text: 'a file the policy says is secret has no sops metadata (plaintext commit)' },
  'value-not-encrypted': { level: 'error', text: 'a value that the selection rule says must be encrypted is in clear' },
  'malformed-value': { level: 'error', text: 'an ENC[...] value is damaged' },
  'metadata-invalid': { level: 'error', text: 'the sops metadata block is malformed or its version unknown' },
  unreadable: { level: 'error', text: 'the file cannot be read or parsed in its store' },
  recipients: { level: 'error', text: "the file's recipients differ from its environment in the policy" },
  unmanaged: { level: 'warning', text: 'an encrypted file that no environment of coffer.yaml claims' },
  schema: { level: 'error', text: "the file does not match its environment's schema" },
  integrity: { level: 'error', text: 'the MAC does not match or a value does not decrypt (tampered or damaged)' },
  weak: { level: 'error', text: 'a password is weaker than the schema allows (zxcvbn score)' },
  reused: { level: 'error', text: 'the same secret value is used under two key paths or in two environments' },
  expired: { level: 'error', text: 'a value is past its x-coffer.expires date' },
  'rotation-due': { level: 'warning', text: 'a value is older than its x-coffer.rotate period' },
  'not-decrypted': { level: 'note', text: 'no identity could decrypt the file, so only keyless checks ran' },
} as const satisfies Record<string, { level: Severity; text: string }>;

export type RuleId = keyof typeof RULES;
export type Severity = 'error' | 'warning' | 'note';

export interface Problem {
  rule: RuleId;
  severity: Severity;
  /** Relative to the policy's directory, with `/`. */
  file: string;
  /** Dotted key path (`db.password`, `hosts[0]`), when the problem is about one value or key. */
  keyPath?: string;
  /** 1-based line in the file, when known. */
  line?: number;
  message: string;
  hint?: string;
}

export interface VerifyReport {
  /** The policy file that was applied, relative to its directory's parent chain as given. */
  policy: string;
  /** Where the checked files were read from. */
  source: 'worktree' | 'index';
  /** Files checked (secret or encrypted). */
  files: number;
  /** Files whose values were decrypted and checked with a key. */
  decrypted: number;
  keyless: boolean;
  problems: Problem[];
}

/** A problem with the rule's default severity unless one is given. */
export function problem(rule: RuleId, file: string, message: string, extra: Partial<Omit<Problem, 'rule' | 'file' | 'message'>> = {}): Problem {
  return { rule, severity: extra.severity ?? RULES[rule].level, file, message, ...extra };
}

export function countBySeverity(problems: readonly Problem[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, note: 0 };
  for (const item of problems) counts[item.severity]++;
  return counts;
}

/** Problems ordered by file, then line, then key path (the order every output uses). */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || (a.line ?? 0) - (b.line ?? 0) || (a.keyPath ?? '').localeCompare(b.keyPath ?? ''),
  );
}
