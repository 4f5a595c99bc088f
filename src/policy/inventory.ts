// Who can read which file today: every file an environment claims (and any other encrypted file in
// the repository), its recipients read from its own metadata, compared with coffer.yaml.

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CofferError } from '../errors.js';
import { listRepositoryFiles } from './repository-files.js';
import { type RecipientPlan, recipientPlanOf } from '../file/key-ring.js';
import { parseMetadata } from '../format/metadata.js';
import { detectStore, getStore } from '../format/stores/index.js';
import type { StoreName } from '../format/tree.js';
import { nameKey } from './coffer-policy.js';
import {
  type CofferConfig,
  claimedTwiceError,
  type EnvironmentMatch,
  expandRecipients,
  indexRecipientKeys,
  lookupEnvironments,
  planForEnvironment,
  type PolicyRecipient,
  recipientKey,
} from './coffer-config.js';

/** Files above this size are not probed for sops metadata unless an environment claims them. */
const PROBE_LIMIT = 1024 * 1024;

export interface InventoryFile {
  /** Relative to coffer.yaml's directory, with `/`. */
  path: string;
  absolute: string;
  store: StoreName;
  environment?: EnvironmentMatch;
  /** The recipients in the file's metadata; undefined when it is not an encrypted file. */
  current?: RecipientPlan;
  /** Why `current` is missing (not encrypted, damaged metadata). */
  problem?: string;
}

export interface Inventory {
  config: CofferConfig;
  files: InventoryFile[];
  /** Globs (or path_regex) that match no file in the repository. */
  unmatched: { environment: string; pattern: string; line: number }[];
}

/** The recipients in a file's metadata, or why there are none. */
async function readCurrentRecipients(absolute: string, path: string, store: StoreName): Promise<Pick<InventoryFile, 'current' | 'problem'>> {
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    const metadata = getStore(store).parse(text, path).readMetadata();
    if (metadata === undefined) return { problem: 'not encrypted' };
    return { current: recipientPlanOf(parseMetadata(metadata, path)) };
  } catch (error) {
    if (error instanceof CofferError && error.code === 'NOT_ENCRYPTED') return { problem: 'not encrypted' };
    return { problem: error instanceof CofferError ? `unreadable (${error.code})` : 'unreadable' };
  }
}

function looksEncrypted(text: string): boolean {
  return text.includes('sops') && text.includes('lastmodified') && text.includes('ENC[');
}

/** Lists the files of the repository coffer.yaml governs; two environments claiming a file is CONFIG_INVALID. */
export async function takeInventory(config: CofferConfig): Promise<Inventory> {
  const all = await listRepositoryFiles(config.dir);
  const files: InventoryFile[] = [];
  const used = new Set<string>();
  for (const path of all) {
    if (path === 'coffer.yaml' || path === '.sops.yaml') continue;
    const lookup = lookupEnvironments(config, path);
    if (lookup.matches.length > 1) throw claimedTwiceError(config, path, lookup.matches);
    const absolute = join(config.dir, path);
    const store = detectStore(path);
    const environment = lookup.matches[0];
    if (environment) {
      used.add(`${environment.environment.name}\0${environment.pattern}`);
      files.push({ path, absolute, store, environment, ...(await readCurrentRecipients(absolute, path, store)) });
      continue;
    }
    // not claimed: still listed when it is an encrypted file (drift: nobody decided who reads it)
    const size = await stat(absolute).then((info) => info.size, () => Number.POSITIVE_INFINITY);
    if (size > PROBE_LIMIT) continue;
    const text = await readFile(absolute, 'utf8').catch(() => '');
    if (!looksEncrypted(text)) continue;
    const read = await readCurrentRecipients(absolute, path, store);
    if (read.current) files.push({ path, absolute, store, ...read });
  }
  const unmatched: Inventory['unmatched'] = [];
  for (const environment of config.environments) {
    const patterns = environment.pathRegex !== undefined ? [environment.pathRegex] : environment.files;
    for (const pattern of patterns) {
      if (!used.has(`${environment.name}\0${pattern}`)) unmatched.push({ environment: environment.name, pattern, line: environment.line });
    }
  }
  return { config, files, unmatched };
}

/** CONFIG_INVALID for the first glob that matches nothing (a typo would leave files unprotected). */
export function unmatchedGlobError(inventory: Inventory): CofferError | undefined {
  const [first] = inventory.unmatched;
  if (!first) return undefined;
  const others = inventory.unmatched.length - 1;
  return new CofferError(
    'CONFIG_INVALID',
    `${inventory.config.path}:${first.line}: environment "${first.environment}": "${first.pattern}" matches no file${others ? ` (and ${others} more pattern${others === 1 ? '' : 's'})` : ''}`,
    {
      hints: ['fix the glob (it is relative to the directory of coffer.yaml), or remove it', 'create the file first with `coffer encrypt`, or pass --allow-unmatched'],
      data: { file: inventory.config.path, line: first.line, unmatched: inventory.unmatched },
    },
  );
}

export interface KeyDrift {
  /** Keys in the file that the policy does not list for it. */
  extra: string[];
  /** Keys the policy lists that the file is not wrapped for. */
  missing: string[];
  /** Key groups or threshold differ even if the keys are the same. */
  structure: boolean;
}

/** Every key of a plan, as indexRecipientKeys files them (PGP fingerprints normalised). */
export function keysOf(plan: RecipientPlan): string[] {
  return plan.groups.flatMap((group) => [...group.age.map((key) => recipientKey(key, 'age')), ...group.pgp.map((key) => recipientKey(key, 'pgp'))]);
}

function shapeOf(plan: RecipientPlan): string {
  const groups = plan.groups.map((group) => keysOf({ groups: [group] }).sort().join(',')).sort();
  return JSON.stringify({ groups, threshold: plan.groups.length > 1 ? plan.shamirThreshold || plan.groups.length : 0 });
}

/** How a file's recipients differ from what its environment says; undefined without an environment or metadata. */
function compareWithPolicy(config: CofferConfig, file: InventoryFile): KeyDrift | undefined {
  if (!file.current || !file.environment) return undefined;
  const wanted = planForEnvironment(config, file.environment.environment);
  const have = new Set(keysOf(file.current));
  const want = new Set(keysOf(wanted));
  const extra = [...have].filter((key) => !want.has(key));
  const missing = [...want].filter((key) => !have.has(key));
  return { extra, missing, structure: extra.length === 0 && missing.length === 0 && shapeOf(file.current) !== shapeOf(wanted) };
}

export { nameKey };

export interface FileAccess {
  path: string;
  environment: string | null;
  /** Names (or shortened unknown keys) that can unwrap the data key alone. */
  readers: string[];
  /** For Shamir files: the names in each key group, and how many groups are needed. */
  keyGroups?: string[][];
  threshold?: number;
  /** Recipients (by name) the file is wrapped for but the policy does not list, and the reverse. */
  notInPolicy: string[];
  notInFile: string[];
  keyGroupsDiffer: boolean;
  status: 'ok' | 'drift' | 'unmanaged' | 'not-encrypted' | 'unreadable';
  problem?: string;
}

/** One row of `coffer access`. */
export function describeAccess(config: CofferConfig, file: InventoryFile, index = indexRecipientKeys(config)): FileAccess {
  const environment = file.environment?.environment.name ?? null;
  const base = { path: file.path, environment, readers: [], notInPolicy: [], notInFile: [], keyGroupsDiffer: false };
  if (!file.current) {
    return { ...base, status: file.problem === 'not encrypted' ? 'not-encrypted' : 'unreadable', ...(file.problem ? { problem: file.problem } : {}) };
  }
  const names = (keys: string[]) => [...new Set(keys.map((key) => nameKey(index, key)))];
  const groups = file.current.groups.map((group) => names(keysOf({ groups: [group] })));
  const shamir = groups.length > 1;
  const drift = compareWithPolicy(config, file);
  const notInPolicy = drift ? names(drift.extra) : [];
  const notInFile = drift ? names(drift.missing) : [];
  return {
    ...base,
    readers: shamir ? [] : (groups[0] ?? []),
    ...(shamir ? { keyGroups: groups, threshold: file.current.shamirThreshold || groups.length } : {}),
    notInPolicy,
    notInFile,
    keyGroupsDiffer: drift?.structure ?? false,
    status: !file.environment ? 'unmanaged' : notInPolicy.length || notInFile.length || drift?.structure ? 'drift' : 'ok',
  };
}

/** A recipient's keys, as indexRecipientKeys files them. */
export function keysOfRecipient(recipient: PolicyRecipient): Set<string> {
  return new Set([...recipient.age.map((key) => recipientKey(key, 'age')), ...recipient.pgp]);
}

/** What one recipient can read today, and what the policy says they may. */
export function describeRecipientAccess(config: CofferConfig, inventory: Inventory, name: string): { path: string; environment: string | null; access: string; inPolicy: boolean }[] {
  const recipient = config.recipients.get(name);
  if (!recipient) throw unknownRecipientError(config, name);
  const keys = keysOfRecipient(recipient);
  const rows = [];
  for (const file of inventory.files) {
    const environment = file.environment?.environment;
    const inPolicy = environment ? (environment.keyGroups ?? [environment.readers]).some((names) => expandRecipients(config, names).includes(name)) : false;
    const groups = file.current?.groups ?? [];
    const holding = groups.flatMap((group, position) => (keysOf({ groups: [group] }).some((key) => keys.has(key)) ? [position + 1] : []));
    if (holding.length === 0 && !inPolicy) continue;
    const threshold = groups.length > 1 ? file.current?.shamirThreshold || groups.length : 1;
    const access =
      holding.length === 0
        ? 'policy only (not wrapped for them yet: run `coffer updatekeys --all`)'
        : groups.length === 1
          ? 'reads'
          : `holds key group ${holding.join(', ')} of ${groups.length} (${threshold} needed)${holding.length >= threshold ? ': reads alone' : ''}`;
    rows.push({ path: file.path, environment: environment?.name ?? null, access, inPolicy });
  }
  return rows;
}

export function unknownRecipientError(config: CofferConfig, name: string): CofferError {
  const isGroup = config.groups.has(name);
  return new CofferError('USAGE', isGroup ? `"${name}" is a group, not a recipient` : `no recipient "${name}" in ${config.path}`, {
    hints: isGroup
      ? ['name one person or machine; edit the group in coffer.yaml to change its members']
      : [`known recipients: ${[...config.recipients.keys()].join(', ') || 'none'}`],
    data: { file: config.path, name },
  });
}

/** Encrypted files under `dir` (for `updatekeys --all` with only .sops.yaml), relative with `/`. */
export async function listEncryptedFiles(dir: string): Promise<string[]> {
  const encrypted: string[] = [];
  for (const path of await listRepositoryFiles(dir)) {
    if (path === '.sops.yaml' || path === 'coffer.yaml') continue;
    const absolute = join(dir, path);
    const size = await stat(absolute).then((info) => info.size, () => Number.POSITIVE_INFINITY);
    if (size > PROBE_LIMIT) continue;
    const text = await readFile(absolute, 'utf8').catch(() => '');
    if (!looksEncrypted(text)) continue;
    if ((await readCurrentRecipients(absolute, path, detectStore(path))).current) encrypted.push(path);
  }
  return encrypted;
}
