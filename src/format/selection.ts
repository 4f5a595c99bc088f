// Which leaves are encrypted: the six SOPS selection rules (sops-format.md section 4).
import { CofferError } from '../errors.js';
import type { Leaf } from './tree.js';

export const SELECTION_RULE_KEYS = [
  'unencrypted_suffix',
  'encrypted_suffix',
  'unencrypted_regex',
  'encrypted_regex',
  'unencrypted_comment_regex',
  'encrypted_comment_regex',
] as const;
export type SelectionRuleKind = (typeof SELECTION_RULE_KEYS)[number];

export interface SelectionRule {
  kind: SelectionRuleKind;
  pattern: string;
}

export const DEFAULT_SELECTION_RULE: SelectionRule = { kind: 'unencrypted_suffix', pattern: '_unencrypted' };

/** The rule from metadata or config entries; at most one may be present. */
export function selectionRuleFrom(entries: Partial<Record<SelectionRuleKind, unknown>>, where: string): SelectionRule | undefined {
  const present = SELECTION_RULE_KEYS.filter((kind) => entries[kind] !== undefined && entries[kind] !== null && entries[kind] !== '');
  if (present.length > 1) {
    throw new CofferError('METADATA_INVALID', `${where}: more than one selection rule (${present.join(', ')})`, {
      hints: ['keep exactly one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex and the comment regexes'],
    });
  }
  const kind = present[0];
  if (kind === undefined) return undefined;
  const pattern = entries[kind];
  if (typeof pattern !== 'string') {
    throw new CofferError('METADATA_INVALID', `${where}: ${kind} must be a string`);
  }
  if (kind.endsWith('_regex')) compileRule(pattern, where);
  return { kind, pattern };
}

function compileRule(pattern: string, where: string): RegExp {
  try {
    // Go RE2 regexes are unanchored searches; JS RegExp is close enough for the patterns people write.
    return new RegExp(pattern);
  } catch (cause) {
    throw new CofferError('CONFIG_INVALID', `${where}: invalid regular expression /${pattern}/`, { cause });
  }
}

export type LeafSelector = (leaf: Leaf) => boolean;

/** A predicate saying whether a leaf is (to be) encrypted under the rule. */
export function createLeafSelector(rule: SelectionRule): LeafSelector {
  const { kind, pattern } = rule;
  switch (kind) {
    case 'unencrypted_suffix':
      return (leaf) => !leaf.keyPath.some((key) => key.endsWith(pattern));
    case 'encrypted_suffix':
      return (leaf) => leaf.keyPath.some((key) => key.endsWith(pattern));
    case 'unencrypted_regex': {
      const regex = compileRule(pattern, kind);
      return (leaf) => !leaf.keyPath.some((key) => regex.test(key));
    }
    case 'encrypted_regex': {
      const regex = compileRule(pattern, kind);
      return (leaf) => leaf.keyPath.some((key) => regex.test(key));
    }
    case 'unencrypted_comment_regex': {
      const regex = compileRule(pattern, kind);
      return (leaf) => !leaf.commentStack.some((comment) => regex.test(comment)) && !(leaf.isComment && regex.test(String(leaf.value)));
    }
    case 'encrypted_comment_regex': {
      const regex = compileRule(pattern, kind);
      // The matching comment line itself stays clear; what follows it is encrypted.
      return (leaf) => leaf.commentStack.some((comment) => regex.test(comment)) && !(leaf.isComment && regex.test(String(leaf.value)));
    }
  }
}
