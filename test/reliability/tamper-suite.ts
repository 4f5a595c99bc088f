// The tamper suite shared by the default test (a few positions per field) and the stress variant
// (every position): builds real encrypted files, applies every mutation class and classifies.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { KeyRing } from '../../src/file/key-ring.js';
import { encryptDocument, openFile, sealFile } from '../../src/file/secrets-file.js';
import { getStore } from '../../src/format/stores/index.js';
import type { PlainMap, StoreName } from '../../src/format/tree.js';
import type { Metadata } from '../../src/format/metadata.js';
import { nodeKeySources } from '../../src/keys/identities.js';
import { createKeyRing } from '../../src/keys/key-ring.js';
import { createGnupgHome, FIXTURE_PGP_FINGERPRINT, type GnupgHome } from '../helpers/gnupg.js';
import { keyRingFor, makeTestKey, planFor, type TestKey } from '../helpers/keys.js';
import {
  classify,
  flipEncryptedFields,
  lastModifiedMutations,
  type Mutation,
  metadataMutations,
  type Outcome,
  snapshotOf,
  structuralMutations,
  swapAndMoveValues,
  truncations,
  wrappedDataKeyFlips,
} from './mutations.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'sops');

export const PLAINTEXTS: Record<Exclude<StoreName, 'binary'>, string> = {
  yaml: [
    '# database settings',
    'db:',
    '    user: admin',
    '    password: canary-tamper-pw',
    '    port: 5432',
    '    ratio: 0.75',
    '    enabled: true',
    '    # replicas follow',
    '    replicas:',
    '        - host-a',
    '        - host-b',
    'api_token: canary-tamper-token',
    'note_unencrypted: hello',
    'owner_unencrypted: ops',
    'empty: ""',
    'nothing: null',
    'count: 42',
    '',
  ].join('\n'),
  json: '{\n  "db": {\n    "user": "admin",\n    "password": "canary-tamper-pw",\n    "port": 5432,\n    "ratio": 0.75,\n    "enabled": true,\n    "replicas": ["host-a", "host-b"]\n  },\n  "api_token": "canary-tamper-token",\n  "note_unencrypted": "hello",\n  "owner_unencrypted": "ops",\n  "empty": "",\n  "nothing": null,\n  "count": 42\n}\n',
  dotenv: '# service credentials\nDB_USER=admin\nDB_PASSWORD=canary-tamper-pw\nAPI_TOKEN=canary-tamper-token\nNOTE_unencrypted=hello\nOWNER_unencrypted=ops\nEMPTY=\nCOUNT=42\n',
  ini: '[db]\nuser = admin\npassword = canary-tamper-pw\n; a comment\n[api]\ntoken = canary-tamper-token\nnote_unencrypted = hello\n',
};

export interface TamperFixture {
  name: string;
  store: StoreName;
  text: string;
  older?: string;
  keys: KeyRing;
  /** Our recipient: an age public key, or a PGP fingerprint. */
  ours: string;
  source: 'age' | 'pgp';
}

export interface TamperKeys {
  alice: TestKey;
  stranger: TestKey;
}

export async function makeTamperKeys(): Promise<TamperKeys> {
  return { alice: await makeTestKey(), stranger: await makeTestKey() };
}

/** The tamper test files' set-up: fresh keys and a GnuPG home with the SOPS fixture key, made before the file's tests and removed after. */
export function useTamperSetup(): { keys: TamperKeys; gnupg: GnupgHome } {
  const setup = {} as { keys: TamperKeys; gnupg: GnupgHome };
  beforeAll(async () => {
    setup.keys = await makeTamperKeys();
    setup.gnupg = await createGnupgHome({ importFixtureKey: true });
  });
  afterAll(() => setup.gnupg?.remove());
  return setup;
}

/** Every store encrypted by coffer for one age key (with an older version), plus the SOPS age fixture. */
export async function buildFixtures({ alice }: TamperKeys, gnupg?: GnupgHome): Promise<TamperFixture[]> {
  const keys = keyRingFor(alice);
  const fixtures: TamperFixture[] = [];
  for (const [store, plain] of Object.entries(PLAINTEXTS) as [StoreName, string][]) {
    const older = await encryptDocument(getStore(store).parse(plain, `plain.${store}`), `secrets.${store}`, keys, { plan: planFor(alice), now: new Date(Date.now() - 60_000) });
    const opened = await openFile({ file: `secrets.${store}`, store, content: new TextEncoder().encode(older) }, keys);
    const modified = opened.plain.clone();
    const path = store === 'dotenv' ? ['API_TOKEN'] : store === 'ini' ? ['api', 'token'] : ['api_token'];
    modified.setValue(path, 'canary-tamper-token-v2');
    const passwordPath = store === 'dotenv' ? ['DB_PASSWORD'] : ['db', 'password'];
    modified.setValue(passwordPath, 'canary-tamper-pw-v2');
    const text = sealFile(opened, modified) ?? '';
    expect(text).not.toBe('');
    fixtures.push({ name: `coffer ${store}`, store, text, older, keys, ours: alice.recipient, source: 'age' });
  }
  const sopsKey = readFileSync(join(FIXTURES, 'age', 'key.txt'), 'utf8').match(/AGE-SECRET-KEY-1\S+/)?.[0] ?? '';
  const sopsText = readFileSync(join(FIXTURES, 'age', 'secret.enc.yaml'), 'utf8');
  const ours = /recipient: (age1\S+)/.exec(sopsText)?.[1] ?? '';
  fixtures.push({ name: 'SOPS 3.8.1 age fixture', store: 'yaml', text: sopsText, keys: keyRingFor({ identity: sopsKey, recipient: ours }), ours, source: 'age' });
  if (gnupg) {
    const pgpKeys = cachingKeyRing(
      createKeyRing({ env: gnupg.env, sources: { ...nodeKeySources(), homedir: gnupg.dir, env: gnupg.env } }),
    );
    for (const [name, store] of [['format.enc.yaml', 'yaml'], ['format.enc.ini', 'ini'], ['format-2.enc.ini', 'ini']] as const) {
      const pgpText = readFileSync(join(FIXTURES, 'pgp', name), 'utf8');
      fixtures.push({ name: `SOPS PGP fixture ${name}`, store, text: pgpText, keys: pgpKeys, ours: FIXTURE_PGP_FINGERPRINT, source: 'pgp' });
    }
  }
  return fixtures;
}

/**
 * Remembers each unwrap by the exact key groups it was given: gpg is a process per call, and most
 * mutations leave the wrapped data key as it is. A changed stanza is a new cache key: real gpg.
 */
function cachingKeyRing(ring: KeyRing): KeyRing {
  const cache = new Map<string, Promise<Uint8Array>>();
  const keyOf = (metadata: Metadata) => JSON.stringify([metadata.keyGroups, metadata.shamirThreshold], (_k, v: unknown) => (v instanceof Map ? [...v] : typeof v === 'bigint' ? String(v) : v));
  return {
    unwrapDataKey(metadata, file) {
      const key = keyOf(metadata);
      let result = cache.get(key);
      if (!result) {
        result = ring.unwrapDataKey(metadata, file);
        cache.set(key, result);
      }
      return result.then((dataKey) => new Uint8Array(dataKey));
    },
    wrapDataKey: (dataKey, plan) => ring.wrapDataKey(dataKey, plan),
  };
}

export interface TamperCounts {
  tried: number;
  detected: number;
  harmless: number;
  accepted: number;
  byReason: Map<string, number>;
  byCode: Map<string, number>;
  /** Mutation kinds that were not detected, with their counts (for the report and for review). */
  undetectedKinds: Map<string, number>;
  failures: string[];
}

export function emptyCounts(): TamperCounts {
  return { tried: 0, detected: 0, harmless: 0, accepted: 0, byReason: new Map(), byCode: new Map(), undetectedKinds: new Map(), failures: [] };
}

function count(counts: TamperCounts, fixture: string, mutation: Mutation, outcome: Outcome): void {
  counts.tried += 1;
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  if (outcome.kind === 'detected') {
    counts.detected += 1;
    bump(counts.byCode, outcome.code);
  } else if (outcome.kind === 'harmless') {
    counts.harmless += 1;
    bump(counts.undetectedKinds, `${fixture}: ${mutation.kind}`);
    bump(counts.byReason, `harmless: ${outcome.reason}`);
  } else if (outcome.kind === 'accepted') {
    counts.accepted += 1;
    bump(counts.undetectedKinds, `${fixture}: ${mutation.kind} [accepted]`);
    bump(counts.byReason, `accepted: ${outcome.reason}`);
  } else {
    counts.failures.push(`${fixture}: ${mutation.kind} (${mutation.at}): ${outcome.detail}`);
  }
}

export interface TamperDepth {
  /** Every character of every ENC field instead of first/middle/last. */
  dense: boolean;
  truncationPoints: number;
  armorFlipsPerKey: number;
}

export async function mutationsOf(fixture: TamperFixture, tamperKeys: TamperKeys, depth: TamperDepth): Promise<Mutation[]> {
  const wrapFor = async (keys: KeyRing, source: 'age' | 'pgp', recipient: string, dataKey: Uint8Array): Promise<PlainMap> => {
    const wrapped = await keys.wrapDataKey(dataKey, { groups: [{ age: source === 'age' ? [recipient] : [], pgp: source === 'pgp' ? [recipient] : [] }] });
    const entry = wrapped.keyGroups[0]?.get(source)?.[0];
    if (!entry) throw new Error(`no ${source} entry`);
    return entry;
  };
  const ageKeys = keyRingFor(tamperKeys.alice);
  const strangerEntry = await wrapFor(ageKeys, 'age', tamperKeys.stranger.recipient, crypto.getRandomValues(new Uint8Array(32)));
  return [
    ...flipEncryptedFields(fixture.text, depth.dense),
    ...swapAndMoveValues(fixture.text),
    ...lastModifiedMutations(fixture.text),
    ...wrappedDataKeyFlips(fixture.text, depth.armorFlipsPerKey, fixture.source === 'age' ? 'AGE ENCRYPTED FILE' : 'PGP MESSAGE'),
    ...structuralMutations(fixture.text, { store: fixture.store, ...(fixture.older ? { older: fixture.older } : {}) }),
    ...(await metadataMutations(fixture.text, {
      store: fixture.store,
      source: fixture.source,
      wrapForUs: (dataKey) => wrapFor(fixture.keys, fixture.source, fixture.ours, dataKey),
      ours: fixture.ours,
      stranger: tamperKeys.stranger.recipient,
      strangerEntry,
    })),
    ...truncations(fixture.text, depth.truncationPoints),
  ];
}

/** Runs every mutation of every fixture; returns the counts (failures listed, not thrown). */
export async function runTamperSuite(tamperKeys: TamperKeys, depth: TamperDepth, gnupg?: GnupgHome): Promise<TamperCounts> {
  const counts = emptyCounts();
  for (const fixture of await buildFixtures(tamperKeys, gnupg)) {
    const baseline = snapshotOf((await openFile({ file: fixture.name, store: fixture.store, content: new TextEncoder().encode(fixture.text) }, fixture.keys)).plain);
    for (const mutation of await mutationsOf(fixture, tamperKeys, depth)) {
      if (mutation.text === fixture.text) continue; // a no-op (e.g. a store that normalised the edit away)
      count(counts, fixture.name, mutation, await classify(mutation, fixture.store, fixture.keys, baseline));
    }
  }
  return counts;
}

export function formatCounts(counts: TamperCounts, verbose = false): string {
  const lines = [`mutations tried ${counts.tried} / detected ${counts.detected} / harmless ${counts.harmless} / accepted SOPS limitations ${counts.accepted} / failed ${counts.failures.length}`];
  for (const [code, n] of [...counts.byCode].sort((a, b) => b[1] - a[1])) lines.push(`  detected ${code}: ${n}`);
  for (const [reason, n] of [...counts.byReason].sort((a, b) => b[1] - a[1])) lines.push(`  ${reason}: ${n}`);
  if (verbose) for (const [kind, n] of [...counts.undetectedKinds].sort()) lines.push(`    undetected ${kind}: ${n}`);
  return lines.join('\n');
}
