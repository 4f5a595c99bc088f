// What the file operations need from the key layer: unwrap a file's data key, wrap a new one.
import type { Metadata, RawKeyGroup } from '../format/metadata.js';

/** The recipients a data key is wrapped for: one group, or several with a Shamir threshold. */
export interface RecipientPlan {
  groups: RecipientGroup[];
  /** 0 or undefined: every group is needed. */
  shamirThreshold?: number;
}

export interface RecipientGroup {
  age: string[];
  pgp: string[];
  /** Entries of key sources coffer cannot wrap for (kms, vault...), kept verbatim on updatekeys. */
  preserved?: RawKeyGroup;
}

export interface WrappedDataKey {
  keyGroups: RawKeyGroup[];
  shamirThreshold: number;
}

export interface KeyRing {
  unwrapDataKey(metadata: Metadata, file: string): Promise<Uint8Array>;
  wrapDataKey(dataKey: Uint8Array, plan: RecipientPlan): Promise<WrappedDataKey>;
}

function textField(entry: Map<string, unknown>, field: string): string | undefined {
  const value = entry.get(field);
  return typeof value === 'string' ? value.trim() : undefined;
}

/** The recipients a file is wrapped for today, read from its metadata. */
export function recipientPlanOf(metadata: Metadata): RecipientPlan {
  return {
    groups: metadata.keyGroups.map((group) => {
      const preserved: RawKeyGroup = new Map([...group].filter(([source]) => source !== 'age' && source !== 'pgp'));
      return {
        age: (group.get('age') ?? []).map((entry) => textField(entry, 'recipient')).filter((r): r is string => !!r),
        pgp: (group.get('pgp') ?? []).map((entry) => textField(entry, 'fp')).filter((r): r is string => !!r),
        ...(preserved.size > 0 ? { preserved } : {}),
      };
    }),
    shamirThreshold: metadata.shamirThreshold,
  };
}

/** Every recipient of a plan, for messages and `--json` output. */
export function listRecipients(plan: RecipientPlan): string[] {
  return plan.groups.flatMap((group) => [...group.age, ...group.pgp.map((fp) => `pgp:${fp}`)]);
}
