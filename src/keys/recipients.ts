// Recipients given on the command line or in the environment (sops-format.md section 9, step 1):
// any of them present means one key group made of exactly those keys; .sops.yaml keys are ignored.

import { CofferError } from '../errors.js';
import { parseAgeRecipient } from './age.js';
import type { RecipientGroup } from './key-groups.js';

/** Flags and variables of key sources coffer cannot use yet, as SOPS names them. */
const UNSUPPORTED_SOURCES = [
  ['--kms', 'SOPS_KMS_ARN'],
  ['--gcp-kms', 'SOPS_GCP_KMS_IDS'],
  ['--azure-kv', 'SOPS_AZURE_KEYVAULT_URLS'],
  ['--hc-vault-transit', 'SOPS_VAULT_URIS'],
  ['--hckms', 'SOPS_HUAWEICLOUD_KMS_IDS'],
] as const;

/** Splits comma-separated, repeatable values (`--age a,b --age c`), trimmed, empty items dropped. */
export function splitRecipientList(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(',')).map((item) => item.trim()).filter((item) => item !== '');
}

/** Parses and validates age recipients; a bad one is INVALID_RECIPIENT naming its 1-based position. */
export function parseAgeRecipientList(values: readonly string[]): string[] {
  return splitRecipientList(values).map((recipient, index) => parseAgeRecipient(recipient, index + 1).recipient);
}

export interface RecipientFlags {
  /** `--age` values (each comma-separated). */
  age?: readonly string[];
  /** `--pgp` fingerprints (each comma-separated). */
  pgp?: readonly string[];
  /** Names of other key flags given (`--kms`...), which coffer refuses. */
  other?: readonly string[];
}

/**
 * The key group from flags, else from SOPS_AGE_RECIPIENTS / SOPS_PGP_FP; undefined when none is
 * present (then `.sops.yaml` decides). A flag replaces its variable, as in SOPS.
 */
export function recipientsFromFlags(
  flags: RecipientFlags,
  env: Readonly<Record<string, string | undefined>>,
): RecipientGroup | undefined {
  for (const [flag, variable] of UNSUPPORTED_SOURCES) {
    if (flags.other?.includes(flag) || splitRecipientList([env[variable] ?? '']).length > 0) {
      throw new CofferError('UNSUPPORTED_KEY_SOURCE', `${flags.other?.includes(flag) ? flag : variable} names a key source coffer cannot use yet`, {
        hints: [`use age recipients (--age age1...) instead${flags.other?.includes(flag) ? '' : `, and unset ${variable}`}`],
      });
    }
  }
  const age = parseAgeRecipientList(flags.age?.length ? flags.age : [env['SOPS_AGE_RECIPIENTS'] ?? '']);
  const pgp = splitRecipientList(flags.pgp?.length ? flags.pgp : [env['SOPS_PGP_FP'] ?? '']);
  return age.length + pgp.length > 0 ? { age, pgp } : undefined;
}
