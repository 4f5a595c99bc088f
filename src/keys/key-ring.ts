// The KeyRing the file operations use, over age identities found as sops finds them.
import type { KeyRing, WrappedDataKey } from '../file/key-ring.js';
import type { RawKeyGroup } from '../format/metadata.js';
import { type DiscoveredIdentities, discoverAgeIdentities, type KeySources, nodeKeySources } from './identities.js';
import { keyGroupFromMaps, keyGroupToMaps, unwrapDataKey, wrapDataKey } from './key-groups.js';

export interface KeyRingOptions {
  /** Environment to read SOPS_AGE_KEY* from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Absolute paths of identity files tried first (`--identity`). */
  identityFiles?: string[];
  /** Injected file system and shell (tests); default the real ones. */
  sources?: KeySources;
}

/** A key ring whose identities are discovered on first unwrap (encrypting needs none). */
export function createKeyRing(options: KeyRingOptions = {}): KeyRing {
  let discovered: Promise<DiscoveredIdentities> | undefined;
  const discover = () => {
    const sources = options.sources ?? nodeKeySources();
    const env = options.env ?? sources.env;
    // The injected environment's HOME wins, so an in-process caller never reads the real user's keys.
    const homedir = env['HOME'] ?? sources.homedir;
    discovered ??= discoverAgeIdentities({ ...sources, env, homedir }, { identityFiles: options.identityFiles ?? [] });
    return discovered;
  };
  return {
    async unwrapDataKey(metadata, file) {
      const groups = metadata.keyGroups.map((group) => keyGroupFromMaps(group, file));
      const { identities, tried, identitiesForRecipient } = await discover();
      return unwrapDataKey(groups, metadata.shamirThreshold, identities, {
        file,
        tried,
        ...(identitiesForRecipient ? { identitiesForRecipient } : {}),
      });
    },
    async wrapDataKey(dataKey, plan): Promise<WrappedDataKey> {
      const groups = await wrapDataKey(dataKey, plan.groups, plan.shamirThreshold);
      return {
        keyGroups: groups.map((group) => keyGroupToMaps(group) as unknown as RawKeyGroup),
        shamirThreshold: groups.length > 1 ? plan.shamirThreshold || groups.length : 0,
      };
    },
  };
}
