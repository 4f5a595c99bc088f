// coffer.yaml: named recipients, groups of them and environments that say who may read which
// files. Parsed with the yaml package (for line numbers), shape-checked with ajv against
// COFFER_SCHEMA, then checked for meaning: dangling names, cycles, bad keys, bad globs. The parsed
// config's types and the queries on it are in coffer-policy.ts (no yaml), re-exported here.

import type { ErrorObject } from 'ajv';
import { type Document, isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { CofferError } from '../errors.js';
import { SELECTION_RULE_KEYS, type SelectionRuleKind } from '../format/selection.js';
import { parseAgeRecipient } from '../keys/age.js';
import { normalizeFingerprint } from '../keys/pgp.js';
import { validateCofferShape } from './coffer-validator.js';
import { type CofferConfig, expandRecipients, type PolicyEnvironment } from './coffer-policy.js';
import { GlobSyntaxError, globToRegExp } from './glob.js';

export { COFFER_CONFIG_NAME } from './locate.js';
export {
  type CofferConfig,
  claimedTwiceError,
  type EnvironmentLookup,
  type EnvironmentMatch,
  environmentFor,
  expandRecipients,
  indexRecipientKeys,
  lookupEnvironments,
  matchEnvironments,
  planForEnvironment,
  type PolicyEnvironment,
  type PolicyGroup,
  type PolicyRecipient,
  policyPath,
  schemaBindingFor,
} from './coffer-policy.js';

const PGP_FINGERPRINT = /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/;
const HINTS = ['coffer.yaml is described by schemas/coffer.schema.json; `coffer init` writes a commented example'];

function validateShape(value: unknown): ErrorObject[] {
  // COFFER_SCHEMA compiled at build time (scripts/generate-validators.mjs): compiling it took ~50 ms per run
  return validateCofferShape(value) ? [] : [...(validateCofferShape.errors ?? [])];
}

/** JSON pointer segments of an ajv instancePath. */
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function dotted(segments: readonly (string | number)[]): string {
  return segments.reduce<string>((text, segment) => (/^\d+$/.test(String(segment)) ? `${text}[${segment}]` : text ? `${text}.${segment}` : String(segment)), '');
}

function describeAjvError(error: ErrorObject): { segments: string[]; keyNode?: string; message: string } {
  const segments = pointerSegments(error.instancePath);
  const where = dotted(segments) || 'the top level';
  const params = error.params as Record<string, unknown>;
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName ?? (error.keyword === 'propertyNames' ? String(params['propertyName']) : undefined);
  if (propertyName !== undefined) {
    const bad = propertyName.slice(0, 40);
    return { segments, keyNode: propertyName, message: `"${bad}" in ${where} is not a valid name: use letters, digits, ".", "_" and "-" (at most 64)` };
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params['additionalProperty']).slice(0, 40);
      return { segments, keyNode: field, message: `unknown field "${field}" in ${where}` };
    }
    case 'required':
      return { segments, message: `${where} needs a "${String(params['missingProperty'])}" field` };
    case 'const':
      return { segments, message: `${where} must be ${JSON.stringify(params['allowedValue'])}` };
    case 'type':
      return { segments, message: `${where} must be ${String(params['type']) === 'array' ? 'a list' : String(params['type']) === 'object' ? 'a map' : `a ${String(params['type'])}`}` };
    case 'anyOf':
      return { segments, message: `${where} must be a key or a list of keys` };
    case 'minItems':
      return { segments, message: `${where} needs at least ${String(params['limit'])} ${Number(params['limit']) === 1 ? 'entry' : 'entries'}` };
    case 'uniqueItems':
      return { segments, message: `${where} lists the same name twice` };
    case 'pattern':
      return { segments, message: `${where} is not valid (${segments.at(-1) === 'email' ? 'an email address' : segments.at(-1) === 'github' ? 'a GitHub login' : 'a name of letters, digits, ".", "_" and "-"'} expected)` };
    default:
      return { segments, message: `${where} ${error.message ?? 'is not valid'}` };
  }
}

// The last text parsed: `verify` with keys reads coffer.yaml for its checks and again for the key
// ring, and the yaml Document API parse is most of what a run spends on it. Only `path` (the name
// messages use) may differ between the two; invalid texts are not kept, so errors name their own path.
let lastParsed: { text: string; dir: string; config: CofferConfig } | undefined;

/** Parses coffer.yaml text; every problem is CONFIG_INVALID naming `file:line`, never echoing keys or values. */
export function parseCofferConfig(text: string, path: string, dir: string): CofferConfig {
  if (lastParsed && lastParsed.text === text && lastParsed.dir === dir) return { ...lastParsed.config, path };
  const config = parseConfigText(text, path, dir);
  lastParsed = { text, dir, config };
  return config;
}

function parseConfigText(text: string, path: string, dir: string): CofferConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const lineOf = (node: unknown): number => {
    const range = (node as Node | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };
  const invalid = (line: number, what: string, hints: string[] = HINTS) =>
    new CofferError('CONFIG_INVALID', `${path}:${line}: ${what}`, { hints, data: { file: path, line } });
  const yamlError = document.errors[0];
  if (yamlError) {
    throw invalid(lineCounter.linePos(yamlError.pos[0]).line, `invalid YAML (${yamlError.code.toLowerCase().replaceAll('_', ' ')})`, ['fix the YAML syntax of coffer.yaml']);
  }
  const nodeAt = (segments: readonly (string | number)[]) => document.getIn(segments, true) as Node | undefined;
  const lineAt = (segments: readonly (string | number)[]) => lineOf(nodeAt(segments) ?? nodeAt(segments.slice(0, -1)) ?? document.contents);
  const keyLine = (segments: readonly (string | number)[], key: string): number => {
    const parent = nodeAt(segments) ?? document.contents;
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === key);
      if (pair) return lineOf(pair.key);
    }
    return lineOf(parent);
  };

  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    // An alias to nothing, or an alias bomb: the yaml package throws plain errors for both.
    throw new CofferError('CONFIG_INVALID', `${path}: invalid YAML (unresolved or excessive aliases)`, {
      hints: ['coffer.yaml needs no anchors or aliases: write the values out'],
      data: { file: path },
      cause,
    });
  }
  if (value === null || value === undefined) throw invalid(1, 'the file is empty; it needs at least `version: 1`');
  const [shapeError] = validateShape(value);
  if (shapeError) {
    const { segments, keyNode, message } = describeAjvError(shapeError);
    throw invalid(keyNode !== undefined ? keyLine(segments, keyNode) : lineAt(segments), message);
  }
  return checkMeaning(value as RawConfig, path, dir, document, lineAt, keyLine, invalid);
}

interface RawEnvironment {
  files?: string[];
  path_regex?: string;
  readers?: string[];
  key_groups?: string[][];
  shamir_threshold?: number;
  mac_only_encrypted?: boolean;
  schema?: string | Record<string, string>;
  owners?: string[];
  approvals?: { required?: number };
  [rule: string]: unknown;
}

interface RawConfig {
  version: 1;
  recipients?: Record<string, { age?: string | string[]; pgp?: string | string[]; email?: string; github?: string }>;
  groups?: Record<string, string[]>;
  environments?: Record<string, RawEnvironment>;
  signing?: { required: boolean; keys?: string[] };
}

const keyListOf = (value: string | string[] | undefined): string[] =>
  (value === undefined ? [] : typeof value === 'string' ? value.split(',') : value).map((item) => item.trim()).filter(Boolean);

function checkMeaning(
  raw: RawConfig,
  path: string,
  dir: string,
  _document: Document,
  lineAt: (segments: readonly (string | number)[]) => number,
  keyLine: (segments: readonly (string | number)[], key: string) => number,
  invalid: (line: number, what: string, hints?: string[]) => CofferError,
): CofferConfig {
  const config: CofferConfig = {
    path,
    dir,
    recipients: new Map(),
    groups: new Map(),
    environments: [],
    ...(raw.signing ? { signing: { required: raw.signing.required, keys: raw.signing.keys ?? [] } } : {}),
  };
  const owners = new Map<string, string>();
  for (const [name, entry] of Object.entries(raw.recipients ?? {})) {
    const at = ['recipients', name];
    const age = keyListOf(entry.age);
    const pgp = keyListOf(entry.pgp).map((fp) => normalizeFingerprint(fp).toUpperCase());
    if (age.length + pgp.length === 0) throw invalid(keyLine(['recipients'], name), `recipient "${name}" has no age or pgp key`);
    age.forEach((recipient, index) => {
      try {
        parseAgeRecipient(recipient);
      } catch (error) {
        if (!(error instanceof CofferError)) throw error;
        const reason = error.message.replace(/^age recipient (#\d+ )?/, '');
        throw invalid(lineAt([...at, 'age', ...(Array.isArray(entry.age) ? [index] : [])]), `recipients.${name}.age: key ${index + 1} ${reason}`, error.hints);
      }
      const previous = owners.get(recipient);
      if (previous) throw invalid(lineAt([...at, 'age']), `recipients.${name}.age: key ${index + 1} also belongs to "${previous}"`, ['a key belongs to one recipient; remove the copy']);
      owners.set(recipient, name);
    });
    pgp.forEach((fingerprint, index) => {
      if (!PGP_FINGERPRINT.test(fingerprint)) {
        throw invalid(lineAt([...at, 'pgp']), `recipients.${name}.pgp: key ${index + 1} is not a full PGP fingerprint (40 hex digits)`, [
          'print it with `gpg --list-keys --with-colons KEY` (the fpr line); short key IDs are not accepted',
        ]);
      }
      const previous = owners.get(fingerprint);
      if (previous) throw invalid(lineAt([...at, 'pgp']), `recipients.${name}.pgp: key ${index + 1} also belongs to "${previous}"`);
      owners.set(fingerprint, name);
    });
    config.recipients.set(name, {
      name,
      age,
      pgp,
      ...(entry.email ? { email: entry.email } : {}),
      ...(entry.github ? { github: entry.github } : {}),
      line: keyLine(['recipients'], name),
    });
  }
  for (const [name, members] of Object.entries(raw.groups ?? {})) {
    if (config.recipients.has(name)) {
      throw invalid(keyLine(['groups'], name), `"${name}" is both a recipient and a group`, ['rename one of them: a name in readers must mean one thing']);
    }
    config.groups.set(name, { name, members, line: keyLine(['groups'], name) });
  }
  const checkNames = (names: readonly string[], segments: (string | number)[], what: string) => {
    names.forEach((member, index) => {
      if (!config.recipients.has(member) && !config.groups.has(member)) {
        throw invalid(lineAt([...segments, index]), `${what} names "${member}", which is neither a recipient nor a group`, [
          `add "${member}" under recipients: or groups:, or fix the spelling`,
        ]);
      }
    });
  };
  for (const group of config.groups.values()) checkNames(group.members, ['groups', group.name], `group "${group.name}"`);
  // cycles: depth-first, reporting the path that loops
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]) => {
    const group = config.groups.get(name);
    if (!group || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const loop = [...trail.slice(trail.indexOf(name)), name];
      const first = config.groups.get(loop[0]!)!;
      throw invalid(
        first.line,
        loop.length === 2 ? `group "${name}" includes itself` : `groups include each other in a cycle: ${loop.join(' -> ')}`,
        ['a group may include other groups, but never (directly or through others) itself'],
      );
    }
    state.set(name, 'visiting');
    for (const member of group.members) visit(member, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of config.groups.keys()) visit(name, []);

  for (const [name, entry] of Object.entries(raw.environments ?? {})) {
    const at = ['environments', name];
    const line = keyLine(['environments'], name);
    if ((entry.files === undefined) === (entry.path_regex === undefined)) {
      throw invalid(line, `environment "${name}" needs exactly one of files (globs) or path_regex`);
    }
    if ((entry.readers === undefined) === (entry.key_groups === undefined)) {
      throw invalid(line, `environment "${name}" needs exactly one of readers or key_groups`, ['readers: one list of who may read; key_groups: Shamir groups with shamir_threshold']);
    }
    (entry.files ?? []).forEach((glob, index) => {
      try {
        globToRegExp(glob);
      } catch (error) {
        if (!(error instanceof GlobSyntaxError)) throw error;
        throw invalid(lineAt([...at, 'files', index]), `environments.${name}.files[${index}]: ${error.message}`);
      }
    });
    if (entry.path_regex !== undefined) {
      try {
        new RegExp(entry.path_regex);
      } catch {
        throw invalid(lineAt([...at, 'path_regex']), `environments.${name}.path_regex is not a valid regular expression`);
      }
    }
    const schemas: { glob?: string; path: string }[] = typeof entry.schema === 'string' ? [{ path: entry.schema }] : Object.entries(entry.schema ?? {}).map(([glob, path]) => ({ glob, path }));
    for (const { glob } of schemas) {
      try {
        if (glob !== undefined) globToRegExp(glob);
      } catch (error) {
        if (!(error instanceof GlobSyntaxError)) throw error;
        throw invalid(keyLine([...at, 'schema'], glob!), `environments.${name}.schema: ${error.message}`);
      }
    }
    if (entry.readers) checkNames(entry.readers, [...at, 'readers'], `environments.${name}.readers`);
    if (entry.owners) checkNames(entry.owners, [...at, 'owners'], `environments.${name}.owners`);
    for (const [index, group] of (entry.key_groups ?? []).entries()) checkNames(group, [...at, 'key_groups', index], `environments.${name}.key_groups[${index}]`);
    if (entry.shamir_threshold !== undefined) {
      if (!entry.key_groups) throw invalid(lineAt([...at, 'shamir_threshold']), `environments.${name}.shamir_threshold needs key_groups`);
      if (entry.shamir_threshold > entry.key_groups.length) {
        throw invalid(lineAt([...at, 'shamir_threshold']), `environments.${name}.shamir_threshold is ${entry.shamir_threshold} but there are only ${entry.key_groups.length} key groups`);
      }
    }
    const rules = SELECTION_RULE_KEYS.filter((kind) => entry[kind] !== undefined);
    if (rules.length > 1) throw invalid(lineAt([...at, rules[1]!]), `environments.${name} sets ${rules.join(' and ')}; at most one selection rule is allowed`);
    const kind = rules[0] as SelectionRuleKind | undefined;
    if (kind?.endsWith('regex')) {
      try {
        new RegExp(String(entry[kind]));
      } catch {
        throw invalid(lineAt([...at, kind]), `environments.${name}.${kind} is not a valid regular expression`);
      }
    }
    const environment: PolicyEnvironment = {
      name,
      files: entry.files ?? [],
      readers: entry.readers ?? [],
      line,
      ...(entry.path_regex !== undefined ? { pathRegex: entry.path_regex } : {}),
      ...(entry.key_groups ? { keyGroups: entry.key_groups } : {}),
      ...(entry.shamir_threshold !== undefined ? { shamirThreshold: entry.shamir_threshold } : {}),
      ...(kind ? { selectionRule: { kind, pattern: String(entry[kind]) } } : {}),
      ...(entry.mac_only_encrypted !== undefined ? { macOnlyEncrypted: entry.mac_only_encrypted } : {}),
      ...(schemas.length > 0 ? { schemas } : {}),
      ...(entry.owners ? { owners: entry.owners } : {}),
      ...(entry.approvals?.required !== undefined ? { requiredApprovals: entry.approvals.required } : {}),
    };
    config.environments.push(environment);
    // every key group and reader list must end with at least one key
    for (const [index, names] of (environment.keyGroups ?? [environment.readers]).entries()) {
      if (expandRecipients(config, names).length === 0) {
        throw invalid(line, `environments.${name}${environment.keyGroups ? `.key_groups[${index}]` : '.readers'} resolves to no recipient`);
      }
    }
  }
  return config;
}

/** A key as indexRecipientKeys files it (PGP fingerprints normalised). */
export function recipientKey(key: string, kind: 'age' | 'pgp'): string {
  return kind === 'pgp' ? normalizeFingerprint(key).toUpperCase() : key.trim();
}
