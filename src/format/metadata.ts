// The `sops` metadata block (sops-format.md section 7): read from any SOPS 3.x layout, written in
// the 3.13 layout (alphabetical, empty key lists omitted).
import { CofferError } from '../errors.js';
import { DEFAULT_SELECTION_RULE, SELECTION_RULE_KEYS, type SelectionRule, type SelectionRuleKind, selectionRuleFrom } from './selection.js';
import type { PlainMap, PlainValue } from './tree.js';

/** The master-key lists SOPS knows, in its struct order. */
export const KEY_SOURCES = ['kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault', 'age', 'pgp'] as const;
export type KeySourceName = (typeof KEY_SOURCES)[number];

/** One key group: each source's entries (plain maps, kept verbatim so unknown fields survive). */
export type RawKeyGroup = Map<KeySourceName, PlainMap[]>;

export interface Metadata {
  keyGroups: RawKeyGroup[];
  /** 0 when not set (then every group is needed). */
  shamirThreshold: number;
  lastModified: string;
  /** The encrypted MAC (`ENC[...]`), or '' when absent. */
  mac: string;
  /** The rule stored in the file; undefined means none was stored (SOPS then assumes `_unencrypted`). */
  storedSelectionRule: SelectionRule | undefined;
  macOnlyEncrypted: boolean;
  version: string;
}

/** The version coffer writes: the SOPS format release whose layout it follows. */
export const FORMAT_VERSION = '3.13.2';

export function effectiveSelectionRule(metadata: Metadata): SelectionRule {
  return metadata.storedSelectionRule ?? DEFAULT_SELECTION_RULE;
}

function invalid(file: string, reason: string): CofferError {
  return new CofferError('METADATA_INVALID', `${file}: invalid sops metadata: ${reason}`, {
    hints: ['the sops block was damaged or edited by hand; restore the file from git'],
  });
}

function isPlainMap(value: PlainValue | undefined): value is PlainMap {
  return value instanceof Map;
}

function readKeyLists(map: PlainMap, file: string, where: string): RawKeyGroup {
  const group: RawKeyGroup = new Map();
  for (const source of KEY_SOURCES) {
    const list = map.get(source);
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw invalid(file, `${where}${source} is not a list`);
    const entries = list.map((entry, index) => {
      if (!isPlainMap(entry)) throw invalid(file, `${where}${source}[${index}] is not a map`);
      return entry;
    });
    if (entries.length > 0) group.set(source, entries);
  }
  return group;
}

/** Text of a metadata scalar; flattened stores (dotenv, INI) hold every value as text. */
function textOf(value: PlainValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function parseMetadata(map: PlainValue | undefined, file: string): Metadata {
  if (map === undefined) {
    throw new CofferError('NOT_ENCRYPTED', `${file}: not an encrypted file (no sops metadata)`, {
      hints: ['encrypt it first with `coffer encrypt --in-place FILE`'],
    });
  }
  if (!isPlainMap(map)) throw invalid(file, 'the sops entry is not a map');

  const topLevel = readKeyLists(map, file, '');
  let keyGroups: RawKeyGroup[];
  if (topLevel.size > 0) {
    keyGroups = [topLevel];
  } else {
    const groups = map.get('key_groups');
    if (groups !== undefined && groups !== null && !Array.isArray(groups)) throw invalid(file, 'key_groups is not a list');
    keyGroups = (groups ?? []).map((group, index) => {
      if (!isPlainMap(group)) throw invalid(file, `key_groups[${index}] is not a map`);
      return readKeyLists(group, file, `key_groups[${index}].`);
    });
  }
  if (keyGroups.length === 0 || keyGroups.every((group) => group.size === 0)) {
    throw invalid(file, 'no master keys (age, pgp, kms...) are listed');
  }

  const thresholdText = textOf(map.get('shamir_threshold'));
  const shamirThreshold = thresholdText === undefined ? 0 : Number(thresholdText);
  if (!Number.isInteger(shamirThreshold) || shamirThreshold < 0 || shamirThreshold > 255) throw invalid(file, 'shamir_threshold is not a small whole number');

  const lastModified = textOf(map.get('lastmodified'));
  if (lastModified === undefined) throw invalid(file, 'lastmodified is missing');
  normaliseTimestamp(lastModified, file);

  const mac = textOf(map.get('mac')) ?? '';
  const version = textOf(map.get('version'));
  if (version === undefined) throw invalid(file, 'version is missing');
  if (!/^3\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?$/.test(version)) {
    throw new CofferError('UNSUPPORTED_VERSION', `${file}: unsupported sops format version "${version.slice(0, 40)}"`, {
      hints: ['coffer reads files written by SOPS 3.x; re-encrypt the file with a SOPS 3 compatible tool'],
    });
  }

  const ruleEntries: Partial<Record<SelectionRuleKind, unknown>> = {};
  for (const kind of SELECTION_RULE_KEYS) ruleEntries[kind] = textOf(map.get(kind));
  const storedSelectionRule = selectionRuleFrom(ruleEntries, file);
  const macOnlyEncrypted = textOf(map.get('mac_only_encrypted')) === 'true';

  return { keyGroups, shamirThreshold, lastModified, mac, storedSelectionRule, macOnlyEncrypted, version };
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The MAC's AAD: `lastmodified` parsed and re-formatted as RFC 3339 with whole seconds, as Go's
 * `time.Format(time.RFC3339)` does (a zero offset prints as `Z`).
 */
export function normaliseTimestamp(text: string, file: string): string {
  const match = RFC3339.exec(text.trim());
  if (!match) throw invalid(file, 'lastmodified is not an RFC 3339 timestamp');
  const [, date, time, , offset = 'Z'] = match;
  const zone = offset.toUpperCase() === 'Z' || offset === '+00:00' || offset === '-00:00' ? 'Z' : offset;
  return `${date}T${time}${zone}`;
}

/** The current UTC time in SOPS's `lastmodified` form (whole seconds, `Z`). */
export function formatTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function sortedEntries(entry: PlainMap): PlainMap {
  return new Map([...entry.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function writeKeyLists(group: RawKeyGroup, target: [string, PlainValue][]): void {
  for (const [source, entries] of group) {
    if (entries.length > 0) target.push([source, entries.map(sortedEntries)]);
  }
}

/** The metadata as plain data in the SOPS 3.13 layout: alphabetical at every level, empty lists omitted. */
export function serializeMetadata(metadata: Metadata): PlainMap {
  const entries: [string, PlainValue][] = [];
  if (metadata.keyGroups.length === 1) {
    writeKeyLists(metadata.keyGroups[0]!, entries);
  } else {
    const groups = metadata.keyGroups.map((group) => {
      const groupEntries: [string, PlainValue][] = [];
      writeKeyLists(group, groupEntries);
      return new Map(groupEntries.sort(([a], [b]) => (a < b ? -1 : 1))) as PlainMap;
    });
    entries.push(['key_groups', groups]);
    const threshold = metadata.shamirThreshold === 0 ? metadata.keyGroups.length : metadata.shamirThreshold;
    entries.push(['shamir_threshold', BigInt(threshold)]);
  }
  entries.push(['lastmodified', metadata.lastModified]);
  entries.push(['mac', metadata.mac]);
  if (metadata.macOnlyEncrypted) entries.push(['mac_only_encrypted', true]);
  if (metadata.storedSelectionRule) entries.push([metadata.storedSelectionRule.kind, metadata.storedSelectionRule.pattern]);
  entries.push(['version', metadata.version]);
  return new Map(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
