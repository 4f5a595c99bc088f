import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { splitSecret } from '../../src/crypto/shamir.js';
import { NoIdentityMatchError } from '../../src/errors.js';
import { armorAgeFile, dearmorAgeFile } from '../../src/keys/age-file.js';
import { AgeIdentity, generateAgeIdentity, wrapForAgeRecipient } from '../../src/keys/age.js';
import {
  type KeyGroup,
  type PgpKeySource,
  keyGroupFromMaps,
  keyGroupToMaps,
  unwrapDataKey,
  wrapDataKey,
} from '../../src/keys/key-groups.js';
import { rejection } from '../helpers/errors.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/sops');
const FIXTURE_IDENTITY = 'AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P';
const FIXTURE_DATA_KEY = '81d247290bee0b25484e76101e727f63fc984896953fe4888864f49db529e73a';

type Generated = { identity: string; recipient: string; parsed: AgeIdentity };
let people: Generated[];

beforeAll(async () => {
  people = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const generated = await generateAgeIdentity();
      return { ...generated, parsed: AgeIdentity.parse(generated.identity)! };
    }),
  );
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Plain-map form of a metadata key group, as the metadata parser gives it. */
function mapsOf(lists: Record<string, Record<string, unknown>[]>): Map<string, Map<string, unknown>[]> {
  return new Map(Object.entries(lists).map(([source, entries]) => [source, entries.map((entry) => new Map(Object.entries(entry)))]));
}

describe('the SOPS fixtures', () => {
  test('the age fixture unwraps to the documented data key', async () => {
    const document = parse(await readFile(join(FIXTURES, 'age/secret.enc.yaml'), 'utf8'));
    const group = keyGroupFromMaps(mapsOf({ age: document.sops.age, kms: [], gcp_kms: [] }), 'secret.enc.yaml');
    const dataKey = await unwrapDataKey([group], 0, [AgeIdentity.parse(FIXTURE_IDENTITY)!], { tried: [] });
    expect(hex(dataKey)).toBe(FIXTURE_DATA_KEY);
  });

  test('the PGP fixture says it needs the PGP key source', async () => {
    const document = parse(await readFile(join(FIXTURES, 'pgp/format.enc.yaml'), 'utf8'));
    const group = keyGroupFromMaps(mapsOf({ pgp: document.sops.pgp }));
    expect(group.pgp[0]!.fp).toBe('FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4');
    const error = await rejection(unwrapDataKey([group], 0, [people[0]!.parsed], { tried: [] }));
    expect(error.code).toBe('UNSUPPORTED_KEY_SOURCE');
    expect(error.message).toContain('needs the PGP key source');
  });

  test('kms-only files say which source they need', async () => {
    const group: KeyGroup = { age: [], pgp: [], opaque: { kms: [new Map([['arn', 'arn:aws:kms:x'], ['enc', 'abc']])] } };
    const error = await rejection(unwrapDataKey([group], 0, [], { tried: [] }));
    expect(error.code).toBe('UNSUPPORTED_KEY_SOURCE');
    expect(error.message).toContain('needs the AWS KMS key source');
  });
});

describe('one key group', () => {
  test('every recipient wraps the whole data key; each identity unwraps it', async () => {
    const dataKey = randomBytes(32);
    const groups = await wrapDataKey(dataKey, [{ age: people.slice(0, 3).map((p) => p.recipient), pgp: [] }]);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.age.map((entry) => entry.recipient)).toEqual(people.slice(0, 3).map((p) => p.recipient));
    for (const person of people.slice(0, 3)) {
      expect(hex(await unwrapDataKey(groups, 0, [person.parsed], { tried: [] }))).toBe(hex(dataKey));
    }
  });

  test('no matching identity is NoIdentityMatchError listing recipients and what was tried', async () => {
    const groups = await wrapDataKey(randomBytes(32), [{ age: [people[0]!.recipient], pgp: [] }]);
    groups[0]!.pgp.push({ fp: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01', enc: 'x', created_at: '2024-01-01T00:00:00Z' });
    const error = await rejection(unwrapDataKey(groups, 0, [people[1]!.parsed], { file: 'secrets.yaml', tried: ['SOPS_AGE_KEY (1 identity)'] }));
    expect(error).toBeInstanceOf(NoIdentityMatchError);
    expect(error.code).toBe('NO_MATCHING_IDENTITY');
    expect((error as NoIdentityMatchError).recipients).toEqual([people[0]!.recipient, 'ABCDEF0123456789ABCDEF0123456789ABCDEF01']);
    expect(error.message).toContain('secrets.yaml');
    expect(error.message).toContain('SOPS_AGE_KEY (1 identity)');
  });

  test('a data key that is not 32 bytes is DATA_KEY_INVALID', async () => {
    expect((await rejection(wrapDataKey(randomBytes(16), [{ age: [people[0]!.recipient], pgp: [] }]))).code).toBe('DATA_KEY_INVALID');
    const group: KeyGroup = { age: [{ recipient: people[0]!.recipient, enc: await wrapForAgeRecipient(randomBytes(31), people[0]!.recipient) }], pgp: [], opaque: {} };
    expect((await rejection(unwrapDataKey([group], 0, [people[0]!.parsed], { tried: [] }))).code).toBe('DATA_KEY_INVALID');
  });

  test('a tampered stanza means no match; a tampered payload is DATA_KEY_INVALID', async () => {
    const groups = await wrapDataKey(randomBytes(32), [{ age: [people[0]!.recipient], pgp: [] }]);
    const binary = dearmorAgeFile(groups[0]!.age[0]!.enc);
    const payloadFlip = Uint8Array.from(binary);
    payloadFlip[payloadFlip.length - 3]! ^= 1;
    const tampered: KeyGroup = { ...groups[0]!, age: [{ ...groups[0]!.age[0]!, enc: armorAgeFile(payloadFlip) }] };
    expect((await rejection(unwrapDataKey([tampered], 0, [people[0]!.parsed], { tried: [] }))).code).toBe('DATA_KEY_INVALID');
    // a second, intact recipient still works, as in SOPS (keys are tried in turn)
    const withSpare = await wrapDataKey(randomBytes(32), [{ age: [people[0]!.recipient, people[1]!.recipient], pgp: [] }]);
    withSpare[0]!.age[0]!.enc = armorAgeFile(payloadFlip);
    await expect(unwrapDataKey(withSpare, 0, [people[0]!.parsed, people[1]!.parsed], { tried: [] })).resolves.toHaveLength(32);
  });

  test('identitiesForRecipient (SOPS_AGE_KEY_CMD) is asked per recipient after the static identities', async () => {
    const dataKey = randomBytes(32);
    const groups = await wrapDataKey(dataKey, [{ age: [people[0]!.recipient, people[1]!.recipient], pgp: [] }]);
    const asked: string[] = [];
    const result = await unwrapDataKey(groups, 0, [], {
      tried: [],
      identitiesForRecipient: async (recipient) => {
        asked.push(recipient);
        return recipient === people[1]!.recipient ? [people[1]!.parsed] : [];
      },
    });
    expect(hex(result)).toBe(hex(dataKey));
    expect(asked).toEqual([people[0]!.recipient, people[1]!.recipient]);
  });

  test('the data key wrapped by wrapDataKey decrypts with the age CLI', async () => {
    const dataKey = randomBytes(32);
    const groups = await wrapDataKey(dataKey, [{ age: [people[0]!.recipient], pgp: [] }]);
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'coffer-kg-'));
    try {
      await writeFile(join(dir, 'key.txt'), `${people[0]!.identity}\n`);
      const out = execFileSync('age', ['-d', '-i', join(dir, 'key.txt')], { input: groups[0]!.age[0]!.enc });
      expect(hex(out)).toBe(hex(dataKey));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('several key groups (Shamir)', () => {
  const groupsOf = () => people.slice(0, 3).map((person) => ({ age: [person.recipient], pgp: [] }));

  test('group i wraps share i (33 bytes, x = i+1); threshold 0 means all groups', async () => {
    const dataKey = randomBytes(32);
    const groups = await wrapDataKey(dataKey, groupsOf());
    expect(groups).toHaveLength(3);
    for (const [index, person] of people.slice(0, 3).entries()) {
      const { unwrapWithAgeIdentities } = await import('../../src/keys/age.js');
      const share = await unwrapWithAgeIdentities(groups[index]!.age[0]!.enc, [person.parsed]);
      expect(share).toHaveLength(33);
      expect(share![32]).toBe(index + 1);
    }
    const all = people.slice(0, 3).map((person) => person.parsed);
    expect(hex(await unwrapDataKey(groups, 0, all, { tried: [] }))).toBe(hex(dataKey));
    const two = await rejection(unwrapDataKey(groups, 0, all.slice(0, 2), { tried: ['x'] }));
    expect(two).toBeInstanceOf(NoIdentityMatchError);
    expect(two.hints[0]).toContain('2 of the 3 key groups');
  });

  test('threshold 2 of 3: any two groups suffice, one does not', async () => {
    const dataKey = randomBytes(32);
    const groups = await wrapDataKey(dataKey, groupsOf(), 2);
    const ids = people.slice(0, 3).map((person) => person.parsed);
    for (const pair of [[0, 1], [0, 2], [1, 2]]) {
      const chosen = pair.map((index) => ids[index]!);
      expect(hex(await unwrapDataKey(groups, 2, chosen, { tried: [] }))).toBe(hex(dataKey));
    }
    expect(await rejection(unwrapDataKey(groups, 2, [ids[1]!], { tried: [] }))).toBeInstanceOf(NoIdentityMatchError);
  });

  test('a threshold above the number of groups is refused', async () => {
    expect((await rejection(wrapDataKey(randomBytes(32), groupsOf(), 4))).code).toBe('USAGE');
  });

  test('shares that do not recombine to 32 bytes are DATA_KEY_INVALID', async () => {
    const shares = splitSecret(randomBytes(20), 2, 2);
    const groups: KeyGroup[] = await Promise.all(
      shares.map(async (share, index) => ({
        age: [{ recipient: people[index]!.recipient, enc: await wrapForAgeRecipient(share, people[index]!.recipient) }],
        pgp: [],
        opaque: {},
      })),
    );
    const error = await rejection(unwrapDataKey(groups, 2, [people[0]!.parsed, people[1]!.parsed], { tried: [] }));
    expect(error.code).toBe('DATA_KEY_INVALID');
  });
});

describe('the PGP hook', () => {
  // A stand-in PGP source over an in-memory table: the interface a later keys/pgp.ts implements.
  function tablePgp(): PgpKeySource & { table: Map<string, Uint8Array> } {
    const table = new Map<string, Uint8Array>();
    return {
      table,
      wrap: async (dataKey, fp) => {
        const enc = `-----BEGIN PGP MESSAGE-----\n${randomBytes(8).toString('hex')}\n-----END PGP MESSAGE-----`;
        table.set(enc, Uint8Array.from(dataKey));
        return { fp, enc, created_at: '2024-01-01T00:00:00Z' };
      },
      unwrap: async (entry) => table.get(entry.enc),
    };
  }

  test('pgp recipients wrap and unwrap through the source; decryption order puts pgp first', async () => {
    const pgp = tablePgp();
    const dataKey = randomBytes(32);
    const groups = await wrapDataKey(dataKey, [{ age: [people[0]!.recipient], pgp: ['FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4'] }], 0, { pgp });
    expect(groups[0]!.pgp[0]!.fp).toBe('FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4');
    expect(hex(await unwrapDataKey(groups, 0, [], { tried: [], pgp }))).toBe(hex(dataKey));
    expect(hex(await unwrapDataKey(groups, 0, [people[0]!.parsed], { tried: [], pgp, decryptionOrder: ['pgp', 'age'] }))).toBe(hex(dataKey));
  });

  test('pgp recipients without the source are UNSUPPORTED_KEY_SOURCE', async () => {
    const error = await rejection(wrapDataKey(randomBytes(32), [{ age: [], pgp: ['FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4'] }]));
    expect(error.code).toBe('UNSUPPORTED_KEY_SOURCE');
    expect(error.message).toContain('needs the PGP key source');
  });
});

describe('metadata maps', () => {
  test('round-trip keeps opaque sources and writes 3.13 field order', async () => {
    const lists = mapsOf({
      age: [{ recipient: people[0]!.recipient, enc: 'ENC-A' }],
      pgp: [{ created_at: '2024-01-01T00:00:00Z', enc: 'ENC-P', fp: 'AB' }],
      kms: [{ arn: 'arn:aws:kms:eu', created_at: '2024-01-01T00:00:00Z', enc: 'K', aws_profile: '' }],
      hc_vault: [{ vault_address: 'https://v', engine_path: 'transit', key_name: 'k', created_at: 'x', enc: 'V' }],
    });
    const group = keyGroupFromMaps(lists);
    const back = keyGroupToMaps(group);
    expect([...back.keys()]).toEqual(['age', 'hc_vault', 'kms', 'pgp']);
    expect([...back.get('age')![0]!.keys()]).toEqual(['enc', 'recipient']);
    expect([...back.get('pgp')![0]!.keys()]).toEqual(['created_at', 'enc', 'fp']);
    expect(back.get('kms')).toEqual(lists.get('kms'));
    expect(back.get('hc_vault')).toEqual(lists.get('hc_vault'));
  });

  test('an age entry without enc is METADATA_INVALID', () => {
    expect(() => keyGroupFromMaps(mapsOf({ age: [{ recipient: 'age1x' }] }), 'f.yaml')).toThrow(/f\.yaml: a sops age entry has no enc/);
  });
});
