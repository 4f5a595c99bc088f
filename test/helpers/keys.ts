// Test keys and key rings that never look at the developer's own key files.
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyRing, RecipientPlan } from '../../src/file/key-ring.js';
import { generateAgeIdentity } from '../../src/keys/age.js';
import { nodeKeySources } from '../../src/keys/identities.js';
import { createKeyRing } from '../../src/keys/key-ring.js';

export interface TestKey {
  identity: string;
  recipient: string;
}

export async function makeTestKey(): Promise<TestKey> {
  return generateAgeIdentity();
}

// A home directory that does not exist: no default key file, no ~/.ssh key, nothing to clean up.
const NO_HOME = join(tmpdir(), `coffer-no-home-${randomUUID()}`);

/** A key ring that knows exactly these identities (via SOPS_AGE_KEY) and an empty home directory. */
export function keyRingFor(...keys: TestKey[]): KeyRing {
  const home = NO_HOME;
  return createKeyRing({
    env: { SOPS_AGE_KEY: keys.map((key) => key.identity).join('\n'), HOME: home },
    sources: { ...nodeKeySources(), homedir: home, env: { HOME: home } },
  });
}

export function planFor(...keys: TestKey[]): RecipientPlan {
  return { groups: [{ age: keys.map((key) => key.recipient), pgp: [] }] };
}
