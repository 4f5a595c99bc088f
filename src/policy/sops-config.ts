
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { LineCounter, type Node, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { CofferError } from '../errors.js';
import { SELECTION_RULE_KEYS, type SelectionRule, type SelectionRuleKind } from '../format/selection.js';
import { parseAgeRecipient } from '../keys/age.js';
import type { RecipientGroup } from '../keys/key-groups.js';
import { type RecipientFlags, recipientsFromFlags } from '../keys/recipients.js';
import { type ConfigSources, findSopsConfig, nodeConfigSources, readConfigFile } from './locate.js';

export interface CreationRule {
  /** The regex text as written (RE2 syntax; matched as a JS RegExp). */
  pathRegex?: string;
  groups: RecipientGroup[];
  /** Key sources named in the rule that coffer cannot use (kms, gcp_kms...). */
  unsupportedSources: string[];
  shamirThreshold?: number;
  selectionRule?: SelectionRule;
  macOnlyEncrypted?: boolean;
  /** 1-based line of the rule in the config file. */
  line: number;
}

export interface SopsConfig {
  path: string;
  creationRules: CreationRule[];
  stores: { yamlIndent?: number; jsonIndent?: number };
}

export { type ConfigSources, findSopsConfig, nodeConfigSources };

const RULE_KEY_SOURCES = ['kms', 'aws_profile', 'gcp_kms', 'azure_keyvault', 'hc_vault_transit_uri', 'hckms'] as const;
const RULE_FIELDS = new Set<string>([
  'path_regex',
  'age',
  'pgp',
  'key_groups',
  'shamir_threshold',
  'mac_only_encrypted',
  ...SELECTION_RULE_KEYS,
  ...RULE_KEY_SOURCES,
]);
const GROUP_FIELDS = new Set(['age', 'pgp', 'merge', 'kms', 'gcp_kms', 'azure_keyvault', 'hc_vault', 'hckms']);
const TOP_LEVEL_FIELDS = new Set(['creation_rules', 'destination_rules', 'stores']);

/** Parses `.sops.yaml` text; CONFIG_INVALID names `file:line` and never echoes values. */
export function parseSopsConfig(text: string, path: string): SopsConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const lineOf = (node: unknown): number => {
    const range = (node as Node | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };
  const invalid = (node: unknown, what: string) =>
    new CofferError('CONFIG_INVALID', `${path}:${lineOf(node)}: ${what}`, {
      hints: ['see the creation_rules format in the SOPS documentation; coffer reads the same file'],
      data: { file: path, line: lineOf(node) },
    });
  const firstError = document.errors[0];
  if (firstError) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    throw new CofferError('CONFIG_INVALID', `${path}:${line}: invalid YAML (${firstError.code.toLowerCase().replaceAll('_', ' ')})`, {
      hints: ['fix the YAML syntax of the config file'],
      data: { file: path, line },
    });
  }
  const root = document.contents;
  const config: SopsConfig = { path, creationRules: [], stores: {} };
  if (root === null || (isScalar(root) && root.value === null)) return config;
  if (!isMap(root)) throw invalid(root, 'the config must be a map');

  const stringList = (node: unknown, field: string): string[] => {
    if (isScalar(node) && typeof node.value === 'string') return node.value.split(',').map((item) => item.trim()).filter(Boolean);
    if (isSeq(node)) {
      return node.items.map((item) => {
        if (!isScalar(item) || typeof item.value !== 'string') throw invalid(item, `${field} entries must be strings`);
        return item.value.trim();
      });
    }
    if (isScalar(node) && node.value === null) return [];
    throw invalid(node, `${field} must be a string or a list of strings`);
  };
  const checkAge = (recipients: string[], node: unknown): string[] => {
    recipients.forEach((recipient, index) => {
      try {
        parseAgeRecipient(recipient, index + 1);
      } catch (error) {
        if (error instanceof CofferError) throw invalid(node, error.message);
        throw error;
      }
    });
    return recipients;
  };
  const readGroup = (node: unknown, unsupported: Set<string>): RecipientGroup => {
    if (!isMap(node)) throw invalid(node, 'a key group must be a map');
    const group: RecipientGroup = { age: [], pgp: [] };
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!GROUP_FIELDS.has(key)) throw invalid(pair.key, `unknown key group field "${key.slice(0, 40)}"`);
      if (key === 'age') group.age.push(...checkAge(stringList(pair.value, 'age'), pair.value));
      else if (key === 'pgp') group.pgp.push(...stringList(pair.value, 'pgp'));
      else if (key === 'merge') {
        if (!isSeq(pair.value)) throw invalid(pair.value, 'merge must be a list of key groups');
        for (const nested of pair.value.items) {
          const merged = readGroup(nested, unsupported);
          group.age.push(...merged.age);
          group.pgp.push(...merged.pgp);
        }
      } else if (!(isSeq(pair.value) && pair.value.items.length === 0)) unsupported.add(key);
    }
    return group;
  };

  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!TOP_LEVEL_FIELDS.has(key)) throw invalid(pair.key, `unknown top-level field "${key.slice(0, 40)}"`);
    if (key === 'stores' && isMap(pair.value)) {
      for (const store of ['yaml', 'json'] as const) {
        const indent = pair.value.getIn([store, 'indent'], true);
        if (indent === undefined) continue;
        if (!isScalar(indent) || typeof indent.value !== 'number' || !Number.isInteger(indent.value)) {
          throw invalid(indent, `stores.${store}.indent must be a whole number`);
        }
        if (store === 'yaml') config.stores.yamlIndent = indent.value;
        else config.stores.jsonIndent = indent.value;
      }
    }
    if (key !== 'creation_rules') continue;
    if (!isSeq(pair.value)) throw invalid(pair.value, 'creation_rules must be a list');
    for (const ruleNode of pair.value.items) {
      if (!isMap(ruleNode)) throw invalid(ruleNode, 'a creation rule must be a map');
      const rule: CreationRule = { groups: [], unsupportedSources: [], line: lineOf(ruleNode) };
      const unsupported = new Set<string>();
      const topGroup: RecipientGroup = { age: [], pgp: [] };
      let keyGroups: RecipientGroup[] | undefined;
      for (const field of ruleNode.items) {
        const name = isScalar(field.key) ? String(field.key.value) : '';
        const value = field.value;
        if (!RULE_FIELDS.has(name)) throw invalid(field.key, `unknown creation rule field "${name.slice(0, 40)}"`);
        const scalar = isScalar(value) ? value.value : undefined;
        if (name === 'path_regex') {
          if (typeof scalar !== 'string') throw invalid(value, 'path_regex must be a string');
          toRegExp(scalar, () => invalid(value, 'path_regex is not a valid regular expression'));
          rule.pathRegex = scalar;
        } else if (name === 'age') topGroup.age.push(...checkAge(stringList(value, 'age'), value));
        else if (name === 'pgp') topGroup.pgp.push(...stringList(value, 'pgp'));
        else if (name === 'key_groups') {
          if (!isSeq(value)) throw invalid(value, 'key_groups must be a list');
          keyGroups = value.items.map((item) => readGroup(item, unsupported));
        } else if (name === 'shamir_threshold') {
          if (typeof scalar !== 'number' || !Number.isInteger(scalar) || scalar < 0 || scalar > 255) {
            throw invalid(value, 'shamir_threshold must be a whole number from 0 to 255');
          }
          rule.shamirThreshold = scalar;
        } else if (name === 'mac_only_encrypted') {
          if (typeof scalar !== 'boolean') throw invalid(value, 'mac_only_encrypted must be true or false');
          rule.macOnlyEncrypted = scalar;
        } else if ((SELECTION_RULE_KEYS as readonly string[]).includes(name)) {
          if (typeof scalar !== 'string') throw invalid(value, `${name} must be a string`);
          if (scalar === '') continue;
          if (rule.selectionRule) throw invalid(field.key, `only one of ${SELECTION_RULE_KEYS.join(', ')} may be set`);
          if (name.endsWith('regex')) toRegExp(scalar, () => invalid(value, `${name} is not a valid regular expression`));
          rule.selectionRule = { kind: name as SelectionRuleKind, pattern: scalar };
        } else if (name !== 'aws_profile' && !(scalar === '' || scalar === null || (isSeq(value) && value.items.length === 0))) {
          unsupported.add(name);
        }
      }
      // SOPS: key_groups wins over the top-level lists when both are given
      rule.groups = keyGroups ?? (topGroup.age.length + topGroup.pgp.length > 0 ? [topGroup] : []);
      rule.unsupportedSources = [...unsupported];
      config.creationRules.push(rule);
    }
  }
  return config;
}

/** Turns an RE2 pattern into a JS RegExp; a leading `(?i)`/`(?s)`/`(?m)` flag group becomes a flag. */
export function toRegExp(pattern: string, onError: () => Error): RegExp {
  const flags = /^\(\?([ims]+)\)/.exec(pattern);
  try {
    return flags ? new RegExp(pattern.slice(flags[0].length), [...new Set(flags[1])].join('')) : new RegExp(pattern);
  } catch {
    throw onError();
  }
}

export async function loadSopsConfig(path: string, sources: ConfigSources = nodeConfigSources()): Promise<SopsConfig> {
  return parseSopsConfig(await readConfigFile(path, sources), path);
}

/** The path SOPS matches `path_regex` against: relative to the config's directory when inside it, else absolute. */
export function pathForRules(configDir: string, absoluteFilePath: string): string {
  const prefix = configDir.endsWith(sep) ? configDir : configDir + sep;
  return absoluteFilePath.startsWith(prefix) ? absoluteFilePath.slice(prefix.length) : absoluteFilePath;
}

/** The first rule with no path_regex or one that matches (unanchored); undefined if none. */
export function findCreationRule(config: SopsConfig, configDir: string, filePath: string, cwd?: string): CreationRule | undefined {
  const absolute = isAbsolute(filePath) ? filePath : resolve(cwd ?? configDir, filePath);
  const subject = pathForRules(resolve(configDir), absolute);
  return config.creationRules.find(
    (rule) =>
      rule.pathRegex === undefined ||
      toRegExp(rule.pathRegex, () => new CofferError('CONFIG_INVALID', `${config.path}:${rule.line}: bad path_regex`)).test(subject),
  );
}

export interface ResolvedCreationRule {
  groups: RecipientGroup[];
  shamirThreshold?: number;
  selectionRule?: SelectionRule;
  macOnlyEncrypted?: boolean;
  /** Where the recipients came from: `flags` or `<config path>:<line>`. */
  source: string;
}

function ruleRecipients(config: SopsConfig, rule: CreationRule): RecipientGroup[] {
  if (rule.unsupportedSources.length > 0) {
    throw new CofferError('UNSUPPORTED_KEY_SOURCE', `${config.path}:${rule.line}: the matching creation rule uses ${rule.unsupportedSources.join(', ')}, which coffer cannot use yet`, {
      hints: ['list age recipients in the rule instead (age: age1...)'],
    });
  }
  if (rule.groups.length === 0 || rule.groups.some((group) => group.age.length + group.pgp.length === 0)) {
    throw new CofferError('NO_RECIPIENTS', `${config.path}:${rule.line}: the matching creation rule has no recipients`, {
      hints: ['add age recipients to the rule in .sops.yaml, or pass --age age1...'],
    });
  }
  return rule.groups;
}

/** The creation rule for `filePath` in a loaded config; NO_RECIPIENTS when no rule matches. */
export function resolveCreationRule(config: SopsConfig, configDir: string, filePath: string, cwd?: string): ResolvedCreationRule {
  const rule = findCreationRule(config, configDir, filePath, cwd);
  if (!rule) {
    throw new CofferError('NO_RECIPIENTS', `no creation rule in ${config.path} matches ${filePath}`, {
      hints: ['pass recipients with --age age1...', `add a creation rule whose path_regex matches the file to ${config.path}`],
      data: { file: filePath, config: config.path },
    });
  }
  return {
    groups: ruleRecipients(config, rule),
    ...(rule.shamirThreshold !== undefined ? { shamirThreshold: rule.shamirThreshold } : {}),
    ...(rule.selectionRule ? { selectionRule: rule.selectionRule } : {}),
    ...(rule.macOnlyEncrypted !== undefined ? { macOnlyEncrypted: rule.macOnlyEncrypted } : {}),
    source: `${config.path}:${rule.line}`,
  };
}

/**
 * Recipients for encrypting `filePath`, with SOPS's precedence: flags or their variables present
 * -> one group of exactly those keys (a matching rule still gives selection rule and flags);
 * otherwise the first matching creation rule of the config.
 */
export function resolveRecipients(input: {
  flags: RecipientFlags;
  env: Readonly<Record<string, string | undefined>>;
  filePath: string;
  cwd: string;
  config?: SopsConfig;
}): ResolvedCreationRule {
  const fromFlags = recipientsFromFlags(input.flags, input.env);
  const { config } = input;
  if (fromFlags) {
    const rule = config ? findCreationRule(config, dirname(config.path), input.filePath, input.cwd) : undefined;
    return {
      groups: [fromFlags],
      ...(rule?.selectionRule ? { selectionRule: rule.selectionRule } : {}),
      ...(rule?.macOnlyEncrypted !== undefined ? { macOnlyEncrypted: rule.macOnlyEncrypted } : {}),
      source: 'flags',
    };
  }
  if (!config) {
    throw new CofferError('NO_RECIPIENTS', `no recipients for ${input.filePath}: no --age flag and no .sops.yaml found`, {
      hints: ['pass recipients with --age age1... (or set SOPS_AGE_RECIPIENTS)', 'or create a .sops.yaml with creation_rules in the repository root'],
      data: { file: input.filePath },
    });
  }
  return resolveCreationRule(config, dirname(config.path), input.filePath, input.cwd);
}
