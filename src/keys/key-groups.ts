// The master-key layer: the data key wrapped for key groups (sops-format.md section 6). One group:
// every master key wraps the whole data key; N groups: Shamir shares, group i wraps share i.

import { combineShares, splitSecret } from '../crypto/shamir.js';
import { CofferError, NoIdentityMatchError } from '../errors.js';
import { type AgeIdentity, unwrapWithAgeIdentities, wrapForAgeRecipient } from './age.js';

export const DATA_KEY_SIZE = 32;

export interface AgeKeyEntry {
  recipient: string;
  /** The armored age file holding the data key or share. */
  enc: string;
}

export interface PgpKeyEntry {
  /** Fingerprint as configured (40 hex). */
  fp: string;
  /** Armored `PGP MESSAGE`. */
  enc: string;
  created_at: string;
}

/** Key sources coffer cannot use; their entries are carried verbatim so rewriting keeps them. */
export const OPAQUE_KEY_SOURCES = ['kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'hckms'] as const;
export type OpaqueKeySource = (typeof OPAQUE_KEY_SOURCES)[number];

const SOURCE_NAMES: Record<OpaqueKeySource | 'pgp', string> = {
  pgp: 'PGP',
  kms: 'AWS KMS',
  gcp_kms: 'GCP KMS',
  azure_kv: 'Azure Key Vault',
  hc_vault: 'HashiCorp Vault',
  hckms: 'HuaweiCloud KMS',
};

export interface KeyGroup {
  age: AgeKeyEntry[];
  pgp: PgpKeyEntry[];
  /** Entries of other sources (kms, gcp_kms...), each a map of its fields, untouched. */
  opaque: Partial<Record<OpaqueKeySource, ReadonlyMap<string, unknown>[]>>;
}

/** The recipients of one key group, as given by flags or `.sops.yaml`. */
export interface RecipientGroup {
  age: string[];
  /** PGP fingerprints; wrapping for them needs a {@link PgpKeySource}. */
  pgp: string[];
}

/**
 * A master-key source beside age. PGP (a later `keys/pgp.ts`) implements this; passing it in
 * `options.pgp` is all the key-group layer needs.
 */
export interface PgpKeySource {
  wrap(dataKey: Uint8Array, fingerprint: string): Promise<PgpKeyEntry>;
  /** The data key (or share); undefined if no local secret key matches. */
  unwrap(entry: PgpKeyEntry): Promise<Uint8Array | undefined>;
}

export type KeySourceKind = 'age' | 'pgp';

export interface UnwrapDataKeyOptions {
  /** The encrypted file, for error messages. */
  file?: string;
  /** What identity discovery tried (descriptions, never key material). */
  tried: string[];
  /** Key types tried first within a group (`--decryption-order`); default `age,pgp`. */
  decryptionOrder?: KeySourceKind[];
  /** Per-recipient identities (SOPS_AGE_KEY_CMD), asked only when the others do not match. */
  identitiesForRecipient?: (recipient: string) => Promise<AgeIdentity[]>;
  pgp?: PgpKeySource;
}

/** Shamir threshold actually used: 0 or undefined means every group. */
export function effectiveThreshold(threshold: number | undefined, groupCount: number): number {
  return threshold ? threshold : groupCount;
}

function checkDataKey(dataKey: Uint8Array, what: string): void {
  if (dataKey.length !== DATA_KEY_SIZE) {
    throw new CofferError('DATA_KEY_INVALID', `${what} is ${dataKey.length} bytes, expected ${DATA_KEY_SIZE}`, {
      hints: ['the file was damaged or written by an incompatible tool'],
    });
  }
}

/** Wraps `dataKey` for every recipient; several groups split it with Shamir first. */
export async function wrapDataKey(
  dataKey: Uint8Array,
  groups: RecipientGroup[],
  threshold?: number,
  options: { pgp?: PgpKeySource } = {},
): Promise<KeyGroup[]> {
  checkDataKey(dataKey, 'the data key');
  if (groups.length === 0 || groups.some((group) => group.age.length + group.pgp.length === 0)) {
    throw new CofferError('NO_RECIPIENTS', groups.length === 0 ? 'no recipients to wrap the data key for' : 'a key group has no recipients', {
      hints: ['pass --age age1... or add creation_rules to .sops.yaml'],
    });
  }
  let secrets: Uint8Array[] = [dataKey];
  if (groups.length > 1) {
    const needed = effectiveThreshold(threshold, groups.length);
    if (needed > groups.length) {
      throw new CofferError('USAGE', `shamir_threshold ${needed} is greater than the number of key groups (${groups.length})`, {
        hints: ['lower shamir_threshold or add key groups in .sops.yaml'],
      });
    }
    secrets = splitSecret(dataKey, groups.length, needed);
  }
  return Promise.all(
    groups.map(async (group, index) => {
      const secret = secrets[index]!;
      const age = await Promise.all(
        group.age.map(async (recipient, position) => ({
          recipient: recipient.trim(),
          enc: await wrapForAgeRecipient(secret, recipient, { position: position + 1 }),
        })),
      );
      if (group.pgp.length > 0 && !options.pgp) throw unsupported(['pgp']);
      const pgp = await Promise.all(group.pgp.map((fingerprint) => options.pgp!.wrap(secret, fingerprint)));
      return { age, pgp, opaque: {} };
    }),
  );
}

function unsupported(sources: (OpaqueKeySource | 'pgp')[]): CofferError {
  const names = sources.map((source) => SOURCE_NAMES[source]);
  const needs = names.length === 1 ? `the ${names[0]} key source` : `one of the ${names.join(', ')} key sources`;
  return new CofferError('UNSUPPORTED_KEY_SOURCE', `the data key is wrapped only for key sources coffer cannot use yet: it needs ${needs}`, {
    hints: ['ask a recipient to add an age key for you (`coffer updatekeys` after adding it to .sops.yaml)'],
    data: { sources },
  });
}

/** Every recipient named in the file (age recipients and PGP fingerprints), for error messages. */
export function listRecipients(groups: KeyGroup[]): string[] {
  return groups.flatMap((group) => [...group.age.map((entry) => entry.recipient), ...group.pgp.map((entry) => entry.fp)]);
}

interface GroupAttempt {
  secret?: Uint8Array;
  error?: CofferError;
}

async function unwrapGroup(group: KeyGroup, identities: readonly AgeIdentity[], options: UnwrapDataKeyOptions): Promise<GroupAttempt> {
  let error: CofferError | undefined;
  const attempt = async (run: () => Promise<Uint8Array | undefined>) => {
    try {
      return await run();
    } catch (caught) {
      // SOPS goes on with the next master key; remember why this one failed
      if (!(caught instanceof CofferError)) throw caught;
      error ??= caught;
      return undefined;
    }
  };
  const order = options.decryptionOrder ?? ['age', 'pgp'];
  const kinds = [...order, ...(['age', 'pgp'] as const).filter((kind) => !order.includes(kind))];
  for (const kind of kinds) {
    if (kind === 'age') {
      for (const entry of group.age) {
        const secret = await attempt(() => unwrapWithAgeIdentities(entry.enc, identities));
        if (secret) return { secret };
      }
      if (options.identitiesForRecipient) {
        for (const entry of group.age) {
          const more = await options.identitiesForRecipient(entry.recipient);
          if (more.length === 0) continue;
          const secret = await attempt(() => unwrapWithAgeIdentities(entry.enc, more));
          if (secret) return { secret };
        }
      }
    } else if (options.pgp) {
      for (const entry of group.pgp) {
        const secret = await attempt(() => options.pgp!.unwrap(entry));
        if (secret) return { secret };
      }
    }
  }
  return error ? { error } : {};
}

/**
 * Unwraps the data key with the identities available. Throws UNSUPPORTED_KEY_SOURCE when the file
 * has no master key of a usable source, NoIdentityMatchError when none of ours matches, and
 * DATA_KEY_INVALID when a matching wrapped key is damaged or the result is not 32 bytes.
 */
export async function unwrapDataKey(
  groups: KeyGroup[],
  threshold: number,
  identities: readonly AgeIdentity[],
  options: UnwrapDataKeyOptions,
): Promise<Uint8Array> {
  const usable = groups.some((group) => group.age.length > 0 || (options.pgp && group.pgp.length > 0));
  if (!usable) {
    const present = (['pgp', ...OPAQUE_KEY_SOURCES] as const).filter((source) =>
      groups.some((group) => (source === 'pgp' ? group.pgp.length > 0 : (group.opaque[source]?.length ?? 0) > 0)),
    );
    throw unsupported(present);
  }
  const needed = groups.length === 1 ? 1 : effectiveThreshold(threshold, groups.length);
  const secrets: Uint8Array[] = [];
  let firstError: CofferError | undefined;
  for (const group of groups) {
    const { secret, error } = await unwrapGroup(group, identities, options);
    if (secret) secrets.push(secret);
    firstError ??= error;
    if (secrets.length >= needed) break;
  }
  if (secrets.length < needed) {
    if (firstError) throw firstError;
    const hints =
      groups.length > 1 && secrets.length > 0
        ? [
            `unwrapped ${secrets.length} of the ${needed} key groups needed; identities for more key groups are required`,
            'pass --identity FILE for each group, or set SOPS_AGE_KEY_FILE to a file holding several identities',
          ]
        : [];
    throw new NoIdentityMatchError(options.file, listRecipients(groups), options.tried, hints);
  }
  const dataKey = groups.length === 1 ? secrets[0]! : combineShares(secrets);
  checkDataKey(dataKey, 'the unwrapped data key');
  return dataKey;
}

/** Reads a key group from metadata maps (`Map<source, Map<field, value>[]>`), keeping unknown sources' entries. */
export function keyGroupFromMaps(lists: ReadonlyMap<string, readonly ReadonlyMap<string, unknown>[]>, file?: string): KeyGroup {
  const where = file ? `${file}: ` : '';
  const text = (entry: ReadonlyMap<string, unknown>, field: string, source: string): string => {
    const value = entry.get(field);
    if (typeof value !== 'string' || value === '') {
      throw new CofferError('METADATA_INVALID', `${where}a sops ${source} entry has no ${field}`, { data: { file } });
    }
    return value;
  };
  const group: KeyGroup = { age: [], pgp: [], opaque: {} };
  for (const [source, entries] of lists) {
    if (source === 'age') {
      group.age = entries.map((entry) => ({ recipient: text(entry, 'recipient', 'age').trim(), enc: text(entry, 'enc', 'age') }));
    } else if (source === 'pgp') {
      group.pgp = entries.map((entry) => ({ fp: text(entry, 'fp', 'pgp'), enc: text(entry, 'enc', 'pgp'), created_at: text(entry, 'created_at', 'pgp') }));
    } else if ((OPAQUE_KEY_SOURCES as readonly string[]).includes(source)) {
      group.opaque[source as OpaqueKeySource] = [...entries];
    }
  }
  return group;
}

/** The inverse of {@link keyGroupFromMaps}: non-empty lists only, fields in the 3.13 (alphabetical) order. */
export function keyGroupToMaps(group: KeyGroup): Map<string, Map<string, unknown>[]> {
  const lists = new Map<string, Map<string, unknown>[]>();
  if (group.age.length) {
    lists.set('age', group.age.map((entry) => new Map<string, unknown>([['enc', entry.enc], ['recipient', entry.recipient]])));
  }
  for (const source of [...OPAQUE_KEY_SOURCES].sort()) {
    const entries = group.opaque[source];
    if (entries?.length) lists.set(source, entries.map((entry) => new Map(entry)));
  }
  if (group.pgp.length) {
    lists.set('pgp', group.pgp.map((entry) => new Map<string, unknown>([['created_at', entry.created_at], ['enc', entry.enc], ['fp', entry.fp]])));
  }
  return lists;
}
