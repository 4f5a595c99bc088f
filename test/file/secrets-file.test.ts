// The file operations end to end (real stores, real AES-GCM, real age wrapping): fixtures,
// stable ciphertext, rotation, recipient updates and the security claims about tampering.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { encryptDocument, openFile, rotateDataKey, sealFile, type SourceFile, updateRecipients } from '../../src/file/secrets-file.js';
import { getStore } from '../../src/format/stores/index.js';
import { type PlainMap, type PlainValue, type StoreName, TimeValue } from '../../src/format/tree.js';
import { createKeyRing } from '../../src/keys/key-ring.js';
import { createGnupgHome, FIXTURE_PGP_FINGERPRINT } from '../helpers/gnupg.js';
import { keyRingFor, makeTestKey, planFor, type TestKey } from '../helpers/keys.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'sops');
const utf8 = new TextEncoder();

function source(file: string, store: StoreName, text: string): SourceFile {
  return { file, store, content: utf8.encode(text) };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<CofferError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CofferError);
    expect((error as CofferError).code).toBe(code);
    return error as CofferError;
  }
  throw new Error(`expected ${code}`);
}

function changedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  return b.filter((line, index) => line !== a[index]);
}

let alice: TestKey;
let bob: TestKey;
beforeAll(async () => {
  alice = await makeTestKey();
  bob = await makeTestKey();
});

async function encryptText(text: string, store: StoreName = 'yaml', keys: TestKey[] = [alice]): Promise<string> {
  return encryptDocument(getStore(store).parse(text, `plain.${store}`), `secrets.${store}`, keyRingFor(...keys), { plan: planFor(...keys) });
}

describe('real SOPS files', () => {
  it('decrypts the SOPS 3.8.1 age fixture with its MAC verified', async () => {
    const key = readFileSync(join(FIXTURES, 'age', 'key.txt'), 'utf8').match(/AGE-SECRET-KEY-1\S+/)?.[0] ?? '';
    const opened = await openFile(source('secret.enc.yaml', 'yaml', readFileSync(join(FIXTURES, 'age', 'secret.enc.yaml'), 'utf8')), keyRingFor({ identity: key, recipient: '' }));
    expect(opened.macVerified).toBe(true);
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'age', 'secret.json'), 'utf8'));
    delete expected['0word'];
    const data = opened.plain.toPlain()[0] as PlainMap;
    expect(data.get('secret')).toBe(expected.secret);
    expect(data.get('int')).toBe(7n);
    expect(data.get('float')).toBe(3.14);
    expect(data.get('boolean')).toBe(true);
    expect((data.get('complex') as PlainMap).get('array')).toEqual(['one', 'two', 'three']);
    expect([...data.keys()]).toEqual(Object.keys(expected));
  });

  it.each(['format.enc.yaml', 'format.enc.ini', 'format-2.enc.ini'])('decrypts the SOPS PGP fixture %s through gpg, MAC verified', async (name) => {
    const store = name.endsWith('.ini') ? 'ini' : 'yaml';
    const text = readFileSync(join(FIXTURES, 'pgp', name), 'utf8');
    const home = await createGnupgHome({ importFixtureKey: true });
    try {
      const opened = await openFile(source(name, store, text), createKeyRing({ env: home.env }));
      expect(opened.macVerified).toBe(true);
      const plain = readFileSync(join(FIXTURES, 'pgp', store === 'ini' ? 'format.ini' : 'format.yaml'), 'utf8');
      expect(opened.plain.toPlain()).toEqual(getStore(store).parse(plain, 'plain').toPlain());
    } finally {
      await home.remove();
    }
  });

  it('names the PGP fingerprint when the keyring has no secret key for it', async () => {
    const home = await createGnupgHome();
    try {
      const text = readFileSync(join(FIXTURES, 'pgp', 'format.enc.yaml'), 'utf8');
      const error = await expectCode(openFile(source('format.enc.yaml', 'yaml', text), createKeyRing({ env: home.env })), 'NO_MATCHING_IDENTITY');
      expect(error.message).toContain(FIXTURE_PGP_FINGERPRINT);
    } finally {
      await home.remove();
    }
  });
});

describe('timestamps', () => {
  it('keeps YAML dates as the user wrote them (type:str) and reads type:time values', async () => {
    const keys = keyRingFor(alice);
    const plain = getStore('yaml').parse('released: 2024-01-02\nat: 2024-01-02T03:04:05Z\nstamp: 2024-05-06T07:08:09.5Z\n', 'plain.yaml');
    const encrypted = await encryptDocument(plain, 't.yaml', keys, { plan: planFor(alice) });
    expect(encrypted).toMatch(/^released: ENC\[.*type:str\]$/m);
    expect(encrypted).toMatch(/^at: ENC\[.*type:str\]$/m);
    // As SOPS 3.10+ would write a time value (the type is not part of the AAD; the MAC covers the text).
    const asTime = encrypted.replace(/^(stamp: ENC\[.*)type:str\]$/m, '$1type:time]');
    expect(asTime).not.toBe(encrypted);
    const opened = await openFile(source('t.yaml', 'yaml', asTime), keys);
    expect(opened.plain.getValue(['released'])).toBe('2024-01-02');
    expect(opened.plain.getValue(['stamp'])).toEqual(new TimeValue('2024-05-06T07:08:09.5Z'));
  });
});

const LONG_FILE = Array.from({ length: 100 }, (_, service) => `service${service}:\n    user: user${service}\n    password: pw-${service}\n    port: ${5000 + service}\n    enabled: true\n`).join('');

describe('stable ciphertext', () => {
  it('changes exactly the value, lastmodified and mac when one value is set on a 500-line file', async () => {
    const encrypted = await encryptText(LONG_FILE);
    expect(encrypted.split('\n').length).toBeGreaterThan(500);
    const opened = await openFile(source('s.yaml', 'yaml', encrypted), keyRingFor(alice));
    const modified = opened.plain.clone();
    modified.setValue(['service42', 'password'], 'new-password');
    const written = sealFile(opened, modified, new Date(Date.now() + 2000)) ?? '';
    const lines = changedLines(encrypted, written);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ {4}password: ENC\[/);
    expect(lines.some((line) => line.includes('lastmodified'))).toBe(true);
    expect(lines.some((line) => /^\s+mac: ENC\[/.test(line))).toBe(true);
  });

  it('leaves the file byte-identical when the value does not change', async () => {
    const encrypted = await encryptText(LONG_FILE);
    const opened = await openFile(source('s.yaml', 'yaml', encrypted), keyRingFor(alice));
    const modified = opened.plain.clone();
    modified.setValue(['service3', 'password'], 'pw-3');
    expect(sealFile(opened, modified)).toBeUndefined();
  });

  it('keeps every other ciphertext when a key is removed, and the result opens', async () => {
    const encrypted = await encryptText(LONG_FILE);
    const opened = await openFile(source('s.yaml', 'yaml', encrypted), keyRingFor(alice));
    const modified = opened.plain.clone();
    expect(modified.deleteValue(['service7'])).toBe(true);
    const written = sealFile(opened, modified) ?? '';
    const before = new Set(encrypted.split('\n').filter((line) => line.includes('ENC[') && !line.includes('mac:')));
    const after = written.split('\n').filter((line) => line.includes('ENC[') && !line.includes('mac:'));
    expect(after.every((line) => before.has(line))).toBe(true);
    expect(after.length).toBe(before.size - 4);
    const reopened = await openFile(source('s.yaml', 'yaml', written), keyRingFor(alice));
    expect(reopened.plain.getValue(['service7'])).toBeUndefined();
  });

  it('keeps two equal list items on their own ciphertexts', async () => {
    const encrypted = await encryptText('list:\n    - same\n    - same\nother: x\n');
    const opened = await openFile(source('s.yaml', 'yaml', encrypted), keyRingFor(alice));
    const modified = opened.plain.clone();
    modified.setValue(['other'], 'y');
    const written = sealFile(opened, modified, new Date(Date.now() + 2000)) ?? '';
    expect(changedLines(encrypted, written)).toHaveLength(3);
  });
});

describe('keys', () => {
  it('rotate: new data key, every value re-encrypted, same plaintext', async () => {
    const encrypted = await encryptText(LONG_FILE);
    const keys = keyRingFor(alice);
    const opened = await openFile(source('s.yaml', 'yaml', encrypted), keys);
    const rotated = await rotateDataKey(opened, keys);
    const reopened = await openFile(source('s.yaml', 'yaml', rotated), keys);
    expect(Buffer.from(reopened.dataKey).equals(Buffer.from(opened.dataKey))).toBe(false);
    expect(reopened.plain.toPlain()).toEqual(opened.plain.toPlain());
    const oldValues = new Set(encrypted.split('\n').filter((line) => line.includes('ENC[')));
    expect(rotated.split('\n').filter((line) => oldValues.has(line))).toEqual([]);
  });

  it('updatekeys: same data key for new recipients; values, lastmodified and MAC untouched', async () => {
    const encrypted = await encryptText(LONG_FILE);
    const opened = await openFile(source('s.yaml', 'yaml', encrypted), keyRingFor(alice));
    const updated = (await updateRecipients(opened, keyRingFor(alice), planFor(alice, bob))) ?? '';
    const unchanged = (text: string) => text.split('\n').filter((line) => line.includes('ENC[') || line.includes('lastmodified'));
    expect(unchanged(updated)).toEqual(unchanged(encrypted));
    const asBob = await openFile(source('s.yaml', 'yaml', updated), keyRingFor(bob));
    expect(Buffer.from(asBob.dataKey).equals(Buffer.from(opened.dataKey))).toBe(true);
    expect(await updateRecipients(asBob, keyRingFor(bob), planFor(bob, alice))).toBeUndefined();
  });

  it('a removed recipient can no longer open the file after rotation', async () => {
    const encrypted = await encryptText('token: abc\n', 'yaml', [alice, bob]);
    const opened = await openFile(source('s.yaml', 'yaml', encrypted), keyRingFor(alice));
    const rotated = await rotateDataKey(opened, keyRingFor(alice), planFor(alice));
    const error = await expectCode(openFile(source('s.yaml', 'yaml', rotated), keyRingFor(bob)), 'NO_MATCHING_IDENTITY');
    expect(error.message).toContain(alice.recipient);
    expect(error.message).not.toContain(bob.identity);
  });
});

describe('tampering is detected', () => {
  const TEXT = 'a: one\nb: two\nlist:\n    - x\n    - y\nn: 5\n';
  const tamper = async (edit: (text: string) => string, code: string) => {
    const encrypted = await encryptText(TEXT);
    await expectCode(openFile(source('s.yaml', 'yaml', edit(encrypted)), keyRingFor(alice)), code);
  };
  const ciphertextOf = (text: string, key: string) => text.split('\n').find((line) => line.startsWith(`${key}: `))?.slice(key.length + 2) ?? '';

  it('moving a value to another key fails its authentication', () =>
    tamper((text) => text.replace(`a: ${ciphertextOf(text, 'a')}`, `a: ${ciphertextOf(text, 'b')}`), 'DECRYPTION_FAILED'));
  it('swapping two list items (same AAD) breaks the MAC', () =>
    tamper((text) => {
      const lines = text.split('\n');
      const at = lines.findIndex((line) => line.startsWith('    - '));
      [lines[at], lines[at + 1]] = [lines[at + 1]!, lines[at]!];
      return lines.join('\n');
    }, 'MAC_MISMATCH'));
  it('dropping a key breaks the MAC', () => tamper((text) => text.replace(/^n: .*\n/m, ''), 'MAC_MISMATCH'));
  it('adding a plaintext value is refused', () => tamper((text) => `extra: clear\n${text}`, 'VALUE_NOT_ENCRYPTED'));
  it('changing lastmodified breaks the MAC', () => tamper((text) => text.replace(/lastmodified: "(\d{4})/, (_m, year) => `lastmodified: "${Number(year) - 1}`), 'MAC_MISMATCH'));
  it('an emptied MAC is reported as missing', () => tamper((text) => text.replace(/mac: ENC\[[^\]]*\]/, 'mac: ""'), 'MAC_MISSING'));
  it('a flipped ciphertext character fails authentication', () =>
    tamper((text) => text.replace(/^a: ENC\[AES256_GCM,data:(.)/m, (_m, c) => `a: ENC[AES256_GCM,data:${c === 'A' ? 'B' : 'A'}`), 'DECRYPTION_FAILED'));
  it('replaying a value from an older version of the file breaks the MAC', async () => {
    const keys = keyRingFor(alice);
    const v1 = await encryptText(TEXT);
    const opened = await openFile(source('s.yaml', 'yaml', v1), keys);
    const modified = opened.plain.clone();
    modified.setValue(['a'], 'changed');
    const v2 = sealFile(opened, modified, new Date(Date.now() + 2000)) ?? '';
    const replayed = v2.replace(`a: ${ciphertextOf(v2, 'a')}`, `a: ${ciphertextOf(v1, 'a')}`);
    await expectCode(openFile(source('s.yaml', 'yaml', replayed), keys), 'MAC_MISMATCH');
  });
  it('--ignore-mac reads anyway and reports the failure', async () => {
    const encrypted = (await encryptText(TEXT)).replace(/^n: .*\n/m, '');
    const reported: string[] = [];
    const opened = await openFile(source('s.yaml', 'yaml', encrypted), keyRingFor(alice), { ignoreMac: true, onIgnoredMacFailure: (error) => reported.push(error.code) });
    expect(opened.macVerified).toBe(false);
    expect(reported).toEqual(['MAC_MISMATCH']);
  });
});

// Arbitrary plaintext trees of every type, in every store that can hold them.
const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !k.startsWith('sops') && !k.endsWith('_unencrypted'));
const scalar = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
  fc.boolean(),
);
const nested: fc.Arbitrary<PlainValue> = fc.letrec<{ value: PlainValue; map: PlainMap }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('map'), fc.array(fc.oneof(scalar, tie('map')), { maxLength: 3 })),
  map: fc.uniqueArray(fc.tuple(key, tie('value')), { selector: ([k]) => k, minLength: 1, maxLength: 4 }).map((entries) => new Map(entries)),
})).map;
const flat = fc.uniqueArray(fc.tuple(key, fc.string({ maxLength: 30 }).filter((s) => !s.includes('\r'))), { selector: ([k]) => k, minLength: 1, maxLength: 6 }).map(
  (entries) => new Map<string, PlainValue>(entries),
);
const sections = fc.uniqueArray(fc.tuple(key, flat), { selector: ([k]) => k, minLength: 1, maxLength: 3 }).map((entries) => new Map<string, PlainValue>(entries));

describe('properties', () => {
  const roundTrip = async (store: StoreName, tree: PlainValue) => {
    const plain = getStore(store).fromPlain([tree]);
    const keys = keyRingFor(alice);
    const encrypted = await encryptDocument(plain, `p.${store}`, keys, { plan: planFor(alice) });
    const opened = await openFile(source(`p.${store}`, store, encrypted), keys);
    expect(opened.plain.toPlain()).toEqual(plain.toPlain());
    // Re-sealing an unchanged file writes nothing.
    expect(sealFile(opened, opened.plain.clone())).toBeUndefined();
  };
  it('decrypt(encrypt(tree)) == tree in YAML and JSON', async () => {
    await fc.assert(fc.asyncProperty(nested, async (tree) => {
      await roundTrip('yaml', tree);
      await roundTrip('json', tree);
    }), { numRuns: 40 });
  });
  it('decrypt(encrypt(tree)) == tree in dotenv and INI', async () => {
    await fc.assert(fc.asyncProperty(flat, sections, async (env, ini) => {
      await roundTrip('dotenv', env);
      await roundTrip('ini', ini);
    }), { numRuns: 40 });
  });
  it('set keeps every unchanged value byte-identical', async () => {
    await fc.assert(fc.asyncProperty(nested.filter((t) => t instanceof Map), fc.string({ maxLength: 20 }), async (tree, newValue) => {
      const keys = keyRingFor(alice);
      const encrypted = await encryptDocument(getStore('yaml').fromPlain([tree]), 'p.yaml', keys, { plan: planFor(alice) });
      const opened = await openFile(source('p.yaml', 'yaml', encrypted), keys);
      const modified = opened.plain.clone();
      modified.setValue(['zz_new_key'], newValue);
      const written = sealFile(opened, modified) ?? '';
      const before = new Set(encrypted.split('\n'));
      const added = written.split('\n').filter((line) => !before.has(line));
      expect(added.filter((line) => !/zz_new_key|lastmodified|mac:/.test(line))).toEqual([]);
    }), { numRuns: 25 });
  });
});
