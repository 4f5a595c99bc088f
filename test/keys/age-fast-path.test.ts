// Runs in its own worker: proves the X25519 fast path never imports age-encryption (50-60 ms).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { parse } from 'yaml';
import { AgeIdentity, generateAgeIdentity, unwrapWithAgeIdentities, wrapForAgeRecipient } from '../../src/keys/age.js';

vi.mock('age-encryption', () => {
  throw new Error('age-encryption was imported');
});

const FIXTURE_IDENTITY = 'AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P';

describe('X25519 without age-encryption', () => {
  test('wrap, unwrap, keygen and no-match all stay native', async () => {
    const generated = await generateAgeIdentity();
    const dataKey = randomBytes(32);
    const armored = await wrapForAgeRecipient(dataKey, generated.recipient);
    const unwrapped = await unwrapWithAgeIdentities(armored, [AgeIdentity.parse(generated.identity)!]);
    expect(Buffer.from(unwrapped!).equals(dataKey)).toBe(true);
    expect(await unwrapWithAgeIdentities(armored, [AgeIdentity.parse(FIXTURE_IDENTITY)!])).toBeUndefined();
  });

  test('the SOPS fixture unwraps natively', async () => {
    const document = parse(await readFile(join(import.meta.dirname, '../fixtures/sops/age/secret.enc.yaml'), 'utf8'));
    const dataKey = await unwrapWithAgeIdentities(document.sops.age[0].enc, [AgeIdentity.parse(FIXTURE_IDENTITY)!]);
    expect(Buffer.from(dataKey!).toString('hex')).toBe('81d247290bee0b25484e76101e727f63fc984896953fe4888864f49db529e73a');
  });

  test('the mock is in force: a passphrase recipient needs age-encryption', async () => {
    await expect(wrapForAgeRecipient(randomBytes(32), { passphrase: 'x' })).rejects.toThrow(/mock/);
  });
});
