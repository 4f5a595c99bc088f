// The KeyRing the file operations use, over age identities (SSH keys included) found as sops finds
// them and the user's gpg for PGP recipients.
import { CofferError } from '../errors.js';
import { ageRecipientKey } from './age.js';
import type { KeyRing, WrappedDataKey } from '../file/key-ring.js';
import type { RawKeyGroup } from '../format/metadata.js';
import { type DiscoveredIdentities, discoverAgeIdentities, type KeySources, nodeKeySources } from './identities.js';
import { effectiveThreshold, type KeyGroup, keyGroupFromMaps, keyGroupToMaps, type PgpKeySource, type UnwrapDataKeyOptions, unwrapDataKey, wrapDataKey } from './key-groups.js';
import { createGpgKeySource } from './pgp.js';
import { resolve } from 'node:path';

export interface KeyRingOptions {
  /** Environment to read SOPS_AGE_KEY* from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Absolute paths of identity files tried first (`--identity`). */
  identityFiles?: string[];
  /** Injected file system and shell (tests); default the real ones. */
  sources?: KeySources;
  /** Directory that relative key file paths (SOPS_AGE_KEY_FILE=keys.txt) are relative to; default the process's. */
  cwd?: string;
  /**
   * The PGP key source; default the user's gpg (SOPS_GPG_EXEC, GNUPGHOME from `env`), which is only
   * started when a file has PGP recipients and no age identity unwrapped it.
   */
  pgp?: PgpKeySource & { describe?: () => string };
  /**
   * Names recipients in messages (`alice` for her age key, from coffer.yaml); asked only when an
   * error needs it. Default: the key itself.
   */
  describeRecipients?: () => Promise<(recipient: string) => string>;
}

/** A key ring whose identities are discovered on first unwrap (encrypting needs none). */
export function createKeyRing(options: KeyRingOptions = {}): KeyRing {
  let discovered: Promise<DiscoveredIdentities> | undefined;
  const environment = () => options.env ?? (options.sources ?? nodeKeySources()).env;
  const discover = () => {
    const sources = options.sources ?? nodeKeySources();
    const env = options.env ?? sources.env;
    // The injected environment's HOME wins, so an in-process caller never reads the real user's keys.
    const homedir = env['HOME'] ?? sources.homedir;
    const { cwd } = options;
    const readFile = cwd === undefined ? sources.readFile : (path: string) => sources.readFile(resolve(cwd, path));
    discovered ??= discoverAgeIdentities({ ...sources, env, homedir, readFile }, { identityFiles: options.identityFiles ?? [] });
    return discovered;
  };
  let pgp = options.pgp;
  const pgpSource = () => {
    pgp ??= createGpgKeySource({ env: environment() });
    return pgp;
  };
  return {
    async unwrapDataKey(metadata, file) {
      const groups = metadata.keyGroups.map((group) => keyGroupFromMaps(group, file));
      const { identities, tried, identitiesForRecipient } = await discover();
      const hasPgp = groups.some((group) => group.pgp.length > 0);
      const source = hasPgp ? pgpSource() : undefined;
      const unwrapOptions: UnwrapDataKeyOptions = {
        file,
        tried: source?.describe ? [...tried, source.describe()] : tried,
        ...(identitiesForRecipient ? { identitiesForRecipient } : {}),
        ...(source ? { pgp: source } : {}),
      };
      try {
        return await unwrapDataKey(groups, metadata.shamirThreshold, identities, unwrapOptions);
      } catch (error) {
        if (groups.length < 2 || !(error instanceof CofferError) || error.code !== 'NO_MATCHING_IDENTITY') throw error;
        // Which groups our age identities belong to, by public key (a Shamir share alone is no data key to check).
        const ours = new Set(identities.map((identity) => identity.recipient).filter((recipient) => recipient !== undefined));
        const describe = (await options.describeRecipients?.().catch(() => undefined)) ?? ((recipient: string) => recipient);
        const opens = (group: KeyGroup) => group.age.some((entry) => ours.has(ageRecipientKey(entry.recipient)));
        throw missingGroupsError(groups, metadata.shamirThreshold, file, unwrapOptions, opens, describe);
      }
    },
    async wrapDataKey(dataKey, plan): Promise<WrappedDataKey> {
      const needsPgp = plan.groups.some((group) => group.pgp.length > 0);
      const groups = await wrapDataKey(dataKey, plan.groups, plan.shamirThreshold, needsPgp ? { pgp: pgpSource() } : {});
      return {
        keyGroups: groups.map((group) => keyGroupToMaps(group) as unknown as RawKeyGroup),
        shamirThreshold: groups.length > 1 ? plan.shamirThreshold || groups.length : 0,
      };
    },
  };
}

/** Shamir files: which key groups our keys open, and which are still missing, by name. */
function missingGroupsError(
  groups: KeyGroup[],
  threshold: number,
  file: string,
  options: UnwrapDataKeyOptions,
  opens: (group: KeyGroup) => boolean,
  describe: (recipient: string) => string,
): CofferError {
  const needed = effectiveThreshold(threshold, groups.length);
  const opened: number[] = [];
  const missing: number[] = [];
  for (const [index, group] of groups.entries()) (opens(group) ? opened : missing).push(index);
  const members = (index: number) => {
    const group = groups[index]!;
    const names = [...new Set([...group.age.map((entry) => describe(entry.recipient)), ...group.pgp.map((entry) => describe(entry.fp))])];
    return `key group ${index + 1} (${names.join(', ') || 'no age or PGP keys'})`;
  };
  const still = needed - opened.length;
  const message =
    `${file}: the data key is split into ${groups.length} key groups and ${needed} are needed; ` +
    `your keys open ${opened.length ? opened.map((index) => `key group ${index + 1}`).join(', ') : 'none of them'}; ` +
    `${still} more needed from: ${missing.map(members).join('; ')}`;
  return new CofferError('NO_MATCHING_IDENTITY', message, {
    hints: [
      `ask holders of ${still === 1 ? 'one of the missing key groups' : `${still} of the missing key groups`} to decrypt with you, or pass one --identity FILE per key group`,
      'set SOPS_AGE_KEY_FILE to a file holding several identities to use them together',
    ],
    data: {
      file,
      threshold: needed,
      openedGroups: opened.map((index) => index + 1),
      missingGroups: missing.map((index) => index + 1),
      tried: options.tried,
    },
  });
}
