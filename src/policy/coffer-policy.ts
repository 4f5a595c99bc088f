// coffer.yaml as data: its types and the questions commands ask of it (which environment claims a
// file, who reads it, which schema applies), apart from the parser in coffer-config.ts so that a
// command answering from a cache never loads the yaml package. plainConfig/configFromPlain give
// the parsed config a JSON form for such caches.
import { posix, relative, sep } from 'node:path';
import { CofferError } from '../errors.js';
import type { RecipientPlan } from '../file/key-ring.js';
import type { SelectionRule } from '../format/selection.js';
import { globToRegExp } from './glob.js';

export interface PolicyRecipient {
  name: string;
  age: string[];
  /** Fingerprints, spaces removed, upper case. */
  pgp: string[];
  email?: string;
  github?: string;
  line: number;
}

export interface PolicyGroup {
  name: string;
  /** Recipient and group names as written. */
  members: string[];
  line: number;
}

export interface PolicyEnvironment {
  name: string;
  /** Globs as written (empty with path_regex). */
  files: string[];
  pathRegex?: string;
  /** Recipient and group names as written (empty with key_groups). */
  readers: string[];
  keyGroups?: string[][];
  shamirThreshold?: number;
  selectionRule?: SelectionRule;
  macOnlyEncrypted?: boolean;
  /** `schema:` as written: one path for every file (glob undefined), or a path per glob. */
  schemas?: { glob?: string; path: string }[];
  /** Recipient and group names who review changes (`owners:`). */
  owners?: string[];
  /** Approving reviews a change needs (`approvals.required`). */
  requiredApprovals?: number;
  line: number;
}

export interface CofferConfig {
  path: string;
  /** The directory globs are relative to. */
  dir: string;
  recipients: Map<string, PolicyRecipient>;
  groups: Map<string, PolicyGroup>;
  environments: PolicyEnvironment[];
  /** Commit signing `coffer audit --verify` enforces; keys are extra PGP fingerprints or SSH public keys. */
  signing?: { required: boolean; keys: string[] };
}

/** Recipient names reached from recipient and group names, in first-seen order, without repeats. */
export function expandRecipients(config: CofferConfig, names: readonly string[]): string[] {
  const seen = new Set<string>();
  const walk = (name: string) => {
    const group = config.groups.get(name);
    if (group) for (const member of group.members) walk(member);
    else if (config.recipients.has(name)) seen.add(name);
  };
  for (const name of names) walk(name);
  return [...seen];
}

/** The recipients an environment's files are wrapped for. */
export function planForEnvironment(config: CofferConfig, environment: PolicyEnvironment): RecipientPlan {
  const groups = (environment.keyGroups ?? [environment.readers]).map((names) => {
    const recipients = expandRecipients(config, names).map((name) => config.recipients.get(name)!);
    return { age: [...new Set(recipients.flatMap((r) => r.age))], pgp: [...new Set(recipients.flatMap((r) => r.pgp))] };
  });
  return { groups, ...(environment.shamirThreshold !== undefined ? { shamirThreshold: environment.shamirThreshold } : {}) };
}

/** Recipient name by key (age recipient, or PGP fingerprint in upper case). */
export function indexRecipientKeys(config: CofferConfig): Map<string, string> {
  const index = new Map<string, string>();
  for (const recipient of config.recipients.values()) {
    for (const key of recipient.age) index.set(key, recipient.name);
    for (const key of recipient.pgp) index.set(key, recipient.name);
  }
  return index;
}

/** The path as environments match it: relative to coffer.yaml's directory, with `/`; undefined outside it. */
export function policyPath(config: CofferConfig, absoluteFile: string): string | undefined {
  const path = relative(config.dir, absoluteFile);
  if (path === '' || path.startsWith('..') || posix.isAbsolute(path)) return undefined;
  return path.split(sep).join('/');
}

export interface EnvironmentMatch {
  environment: PolicyEnvironment;
  /** The glob or regex that matched. */
  pattern: string;
}

export interface EnvironmentLookup {
  matches: EnvironmentMatch[];
  /** Environments tried, each with its patterns (for `coffer explain`). */
  tried: { environment: string; patterns: string[]; matched?: string }[];
}

// path_regex patterns compiled once (no g/y flag, so sharing them is safe)
const pathRegExps = new Map<string, RegExp>();

/** The glob or path_regex of the environment that matches the path, if any. */
function matchingPattern(environment: PolicyEnvironment, path: string): string | undefined {
  const regex = environment.pathRegex;
  if (regex !== undefined) {
    let compiled = pathRegExps.get(regex);
    if (!compiled) {
      compiled = new RegExp(regex);
      if (pathRegExps.size < 1000) pathRegExps.set(regex, compiled);
    }
    return compiled.test(path) ? regex : undefined;
  }
  for (const glob of environment.files) if (globToRegExp(glob).test(path)) return glob;
  return undefined;
}

/** Every environment whose files match the path (more than one is a policy error for the caller to report). */
export function matchEnvironments(config: CofferConfig, path: string): EnvironmentMatch[] {
  const matches: EnvironmentMatch[] = [];
  for (const environment of config.environments) {
    const pattern = matchingPattern(environment, path);
    if (pattern !== undefined) matches.push({ environment, pattern });
  }
  return matches;
}

/** matchEnvironments, and every environment tried with its patterns (for `coffer explain`). */
export function lookupEnvironments(config: CofferConfig, path: string): EnvironmentLookup {
  const lookup: EnvironmentLookup = { matches: [], tried: [] };
  for (const environment of config.environments) {
    const patterns = environment.pathRegex !== undefined ? [environment.pathRegex] : environment.files;
    const matched = matchingPattern(environment, path);
    lookup.tried.push({ environment: environment.name, patterns, ...(matched !== undefined ? { matched } : {}) });
    if (matched !== undefined) lookup.matches.push({ environment, pattern: matched });
  }
  return lookup;
}

/** The one environment of a file; CONFIG_INVALID when two claim it, undefined when none does. */
export function environmentFor(config: CofferConfig, path: string): EnvironmentMatch | undefined {
  const matches = matchEnvironments(config, path);
  if (matches.length > 1) throw claimedTwiceError(config, path, matches);
  return matches[0];
}

export function claimedTwiceError(config: CofferConfig, path: string, matches: readonly EnvironmentMatch[]): CofferError {
  const names = matches.map((match) => `"${match.environment.name}" (${match.pattern})`);
  return new CofferError('CONFIG_INVALID', `${config.path}:${matches[1]!.environment.line}: ${path} is claimed by environments ${names.join(' and ')}`, {
    hints: ['a file belongs to exactly one environment: narrow one of the globs', `run \`coffer explain ${path}\` to see every pattern that matches`],
    data: { file: config.path, line: matches[1]!.environment.line, path, environments: matches.map((match) => match.environment.name) },
  });
}

/** The schema an environment gives a file: the first `schemas:` entry whose glob matches, else the one without a glob. */
export function schemaBindingFor(environment: PolicyEnvironment, path: string): { glob?: string; path: string } | undefined {
  const bindings = environment.schemas ?? [];
  return bindings.find((item) => item.glob !== undefined && globToRegExp(item.glob).test(path)) ?? bindings.find((item) => item.glob === undefined);
}

/** A key as people read it: the recipient's name, else a shortened key. */
export function nameKey(index: ReadonlyMap<string, string>, key: string): string {
  return index.get(key) ?? (key.length > 24 ? `${key.slice(0, 20)}…` : key);
}

/** A parsed config as plain JSON data (Maps as lists), for caches. */
export function plainConfig(config: CofferConfig): unknown {
  return { ...config, recipients: [...config.recipients.values()], groups: [...config.groups.values()] };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** plainConfig's output back as a config; undefined for anything else (a cache never parses into something wrong). */
export function configFromPlain(value: unknown): CofferConfig | undefined {
  if (!isObject(value) || typeof value['path'] !== 'string' || typeof value['dir'] !== 'string') return undefined;
  const { recipients, groups, environments, signing } = value;
  if (!Array.isArray(recipients) || !Array.isArray(groups) || !Array.isArray(environments)) return undefined;
  if (!recipients.every((item) => isObject(item) && typeof item['name'] === 'string' && isStringList(item['age']) && isStringList(item['pgp']) && typeof item['line'] === 'number')) return undefined;
  if (!groups.every((item) => isObject(item) && typeof item['name'] === 'string' && isStringList(item['members']) && typeof item['line'] === 'number')) return undefined;
  const environmentShape = (item: unknown) =>
    isObject(item) &&
    typeof item['name'] === 'string' &&
    isStringList(item['files']) &&
    isStringList(item['readers']) &&
    typeof item['line'] === 'number' &&
    (item['pathRegex'] === undefined || typeof item['pathRegex'] === 'string') &&
    (item['keyGroups'] === undefined || (Array.isArray(item['keyGroups']) && item['keyGroups'].every(isStringList))) &&
    (item['schemas'] === undefined || (Array.isArray(item['schemas']) && item['schemas'].every((schema) => isObject(schema) && typeof schema['path'] === 'string')));
  if (!environments.every(environmentShape)) return undefined;
  if (signing !== undefined && !(isObject(signing) && typeof signing['required'] === 'boolean' && isStringList(signing['keys']))) return undefined;
  const config = value as unknown as Omit<CofferConfig, 'recipients' | 'groups'> & { recipients: PolicyRecipient[]; groups: PolicyGroup[] };
  return {
    ...config,
    recipients: new Map(config.recipients.map((recipient) => [recipient.name, recipient])),
    groups: new Map(config.groups.map((group) => [group.name, group])),
  };
}
