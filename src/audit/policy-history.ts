// coffer.yaml as it was at a commit (parsed once per blob), and what it allowed for a file then.
import { join } from 'node:path';
import { type CofferConfig, environmentFor, indexRecipientKeys, parseCofferConfig, planForEnvironment, policyPath, recipientKey } from '../policy/coffer-config.js';
import type { SecretHistory } from './history.js';

export interface PolicyTimeline {
  /** coffer.yaml at a commit; undefined when it did not exist or did not parse. */
  at(commit: string): Promise<CofferConfig | undefined>;
  /** Recipient ids (as versions list them: age keys, `pgp:FPR`) the policy at `commit` gives `file`; undefined without a policy or environment. */
  allowedFor(commit: string, file: string): Promise<Set<string> | undefined>;
  /** Every recipient id named anywhere in the policy at `commit`. */
  knownAt(commit: string): Promise<Map<string, string>>;
}

const utf8 = new TextDecoder();

/** `configPath` is coffer.yaml's path in the repository (`coffer.yaml`, `infra/coffer.yaml`). */
export function createPolicyTimeline(history: SecretHistory, configPath: string): PolicyTimeline {
  const parsed = new Map<string, CofferConfig | undefined>();
  const root = history.repository.dir;
  const configDir = join(root, configPath.includes('/') ? configPath.slice(0, configPath.lastIndexOf('/')) : '');
  const at = async (commit: string) => {
    const oid = await history.repository.findBlob(commit, configPath);
    if (!oid) return undefined;
    if (!parsed.has(oid)) {
      const text = utf8.decode(await history.repository.readBlob(oid));
      try {
        parsed.set(oid, parseCofferConfig(text, configPath, configDir));
      } catch {
        parsed.set(oid, undefined);
      }
    }
    return parsed.get(oid);
  };
  const idOf = (key: string, kind: 'age' | 'pgp') => (kind === 'pgp' ? `pgp:${recipientKey(key, 'pgp')}` : recipientKey(key, 'age'));
  return {
    at,
    async allowedFor(commit, file) {
      const config = await at(commit);
      if (!config) return undefined;
      const relative = policyPath(config, join(root, file));
      if (relative === undefined) return undefined;
      let match: ReturnType<typeof environmentFor>;
      try {
        match = environmentFor(config, relative);
      } catch {
        return undefined;
      }
      if (!match) return undefined;
      const plan = planForEnvironment(config, match.environment);
      return new Set(plan.groups.flatMap((group) => [...group.age.map((key) => idOf(key, 'age')), ...group.pgp.map((key) => idOf(key, 'pgp'))]));
    },
    async knownAt(commit) {
      const config = await at(commit);
      const known = new Map<string, string>();
      if (!config) return known;
      for (const [key, name] of indexRecipientKeys(config)) known.set(key.startsWith('age1') ? key : `pgp:${key}`, name);
      return known;
    },
  };
}
