import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { decryptValue } from '../../src/crypto/aes-gcm.js';
import { CofferError, NoIdentityMatchError } from '../../src/errors.js';
import { parseEncryptedValue } from '../../src/format/encrypted-value.js';
import { AgeIdentity, generateAgeIdentity } from '../../src/keys/age.js';
import { type PgpKeyEntry, unwrapDataKey, wrapDataKey } from '../../src/keys/key-groups.js';
import { createGpgKeySource, type GpgRun, normalizeFingerprint, sameFingerprint, spawnGpg } from '../../src/keys/pgp.js';
import { createGnupgHome, FIXTURE_PGP_FINGERPRINT, type GnupgHome } from '../helpers/gnupg.js';
import { rejection } from '../helpers/errors.js';

const PGP_FIXTURES = join(import.meta.dirname, '../fixtures/sops/pgp');

let keyring: GnupgHome;
let empty: GnupgHome;

beforeAll(async () => {
  [keyring, empty] = await Promise.all([createGnupgHome({ importFixtureKey: true }), createGnupgHome()]);
});

afterAll(async () => {
  await Promise.all([keyring?.remove(), empty?.remove()]);
});

/** The single pgp entry and the one encrypted value of a SOPS fixture, read without coffer's stores. */
interface Fixture {
  entry: PgpKeyEntry;
  value: string;
  aad: string;
  plaintext: string;
}

async function readYamlFixture(): Promise<Fixture> {
  const document = parse(await readFile(join(PGP_FIXTURES, 'format.enc.yaml'), 'utf8'));
  const plain = parse(await readFile(join(PGP_FIXTURES, 'format.yaml'), 'utf8'));
  return { entry: document.sops.pgp[0], value: document.foo, aad: 'foo:', plaintext: plain.foo };
}

/** INI fields as SOPS writes them: `\n`-escaped on one line (3.13.2) or in `"""` quotes (3.13.1). */
function readIniFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const match = /^([^=\s]+)\s*=\s*(.*)$/.exec(lines[index]!);
    if (!match) continue;
    let value = match[2]!;
    if (value.startsWith('"""')) {
      const parts = [value.slice(3)];
      while (!parts[parts.length - 1]!.endsWith('"""')) parts.push(lines[++index]!);
      value = parts.join('\n').slice(0, -3);
    } else {
      value = value.replaceAll('\\n', '\n');
    }
    fields.set(match[1]!, value);
  }
  return fields;
}

async function readIniFixture(name: string): Promise<Fixture> {
  const fields = readIniFields(await readFile(join(PGP_FIXTURES, name), 'utf8'));
  const plain = readIniFields(await readFile(join(PGP_FIXTURES, 'format.ini'), 'utf8'));
  return {
    entry: {
      fp: fields.get('pgp__list_0__map_fp')!,
      enc: fields.get('pgp__list_0__map_enc')!,
      created_at: fields.get('pgp__list_0__map_created_at')!,
    },
    value: fields.get('bar')!,
    aad: 'foo:bar:',
    plaintext: plain.get('bar')!,
  };
}

const fixtures: [string, () => Promise<Fixture>][] = [
  ['format.enc.yaml (3.13.1, `|-`)', readYamlFixture],
  ['format.enc.ini (3.13.2, \\n escapes)', () => readIniFixture('format.enc.ini')],
  ['format-2.enc.ini (3.13.1, """ quotes)', () => readIniFixture('format-2.enc.ini')],
];

describe('unwrapping real SOPS PGP entries', () => {
  test.each(fixtures)('%s: the data key decrypts the value', async (_name, read) => {
    const fixture = await read();
    expect(fixture.entry.enc.startsWith('-----BEGIN PGP MESSAGE-----')).toBe(true);
    expect(fixture.entry.enc.endsWith('-----END PGP MESSAGE-----')).toBe(true);
    const source = createGpgKeySource({ env: keyring.env });
    const dataKey = await source.unwrap(fixture.entry);
    expect(dataKey?.length).toBe(32);
    const value = parseEncryptedValue(fixture.value, 'fixture');
    const plaintext = decryptValue(value, dataKey!, fixture.aad, 'fixture');
    expect(new TextDecoder().decode(plaintext)).toBe(fixture.plaintext);
    // a wrong AAD fails, so the comparison above really used the key path
    expect(() => decryptValue(value, dataKey!, 'bar:', 'fixture')).toThrow(CofferError);
  });

  test('both enc forms, with and without a trailing newline, unwrap to the same data key', async () => {
    const { entry } = await readYamlFixture();
    const source = createGpgKeySource({ env: keyring.env });
    const bare = await source.unwrap(entry);
    const withNewline = await source.unwrap({ ...entry, enc: `${entry.enc}\n` });
    expect(bare).toBeDefined();
    expect(Buffer.from(withNewline!).equals(Buffer.from(bare!))).toBe(true);
  });

  test('an empty keyring has no secret key: undefined, not an error', async () => {
    const { entry } = await readYamlFixture();
    const source = createGpgKeySource({ env: empty.env });
    expect(await source.unwrap(entry)).toBeUndefined();
  });
});

describe('wrapping', () => {
  test('round trip, and plain `gpg -d` reads the same data key', async () => {
    const dataKey = new Uint8Array(randomBytes(32));
    const runs: GpgRun[] = [];
    const source = createGpgKeySource({
      env: keyring.env,
      runGpg: (run) => {
        runs.push(run);
        return spawnGpg(run);
      },
      now: () => new Date('2026-05-22T20:16:20.789Z'),
    });
    const entry = await source.wrap(dataKey, FIXTURE_PGP_FINGERPRINT.toLowerCase().replace(/(.{4})/g, '$1 '));
    expect(entry.fp).toBe(FIXTURE_PGP_FINGERPRINT.toLowerCase());
    expect(entry.created_at).toBe('2026-05-22T20:16:20Z');
    expect(entry.enc).toMatch(/^-----BEGIN PGP MESSAGE-----\n[\s\S]+\n-----END PGP MESSAGE-----$/);

    const unwrapped = await source.unwrap(entry);
    expect(Buffer.from(unwrapped!).equals(Buffer.from(dataKey))).toBe(true);
    const byGpg = keyring.gpg(['--batch', '--quiet', '--decrypt'], entry.enc);
    expect(byGpg.equals(Buffer.from(dataKey))).toBe(true);

    // key material only ever on stdin: argv names the fingerprint and flags
    expect(runs).toHaveLength(2);
    const secrets = [Buffer.from(dataKey).toString('hex'), Buffer.from(dataKey).toString('base64'), entry.enc.split('\n')[2]!];
    for (const run of runs) {
      expect(run.binary).toBe('gpg');
      for (const arg of run.args) for (const secret of secrets) expect(arg).not.toContain(secret);
    }
    expect(runs[0]!.args).toContain('--batch');
    expect(runs[1]!.args).toContain('--batch');
  });

  test('interactive unwrap runs without --batch so pinentry may ask', async () => {
    const runs: GpgRun[] = [];
    const source = createGpgKeySource({
      env: keyring.env,
      interactive: true,
      runGpg: (run) => {
        runs.push(run);
        return spawnGpg(run);
      },
    });
    const dataKey = await source.unwrap((await readYamlFixture()).entry);
    expect(dataKey?.length).toBe(32);
    expect(runs[0]!.args).not.toContain('--batch');
  });

  test('a fingerprint with no public key in the keyring is KEY_SOURCE_FAILED with an import hint', async () => {
    const error = await rejection(createGpgKeySource({ env: empty.env }).wrap(new Uint8Array(32), FIXTURE_PGP_FINGERPRINT));
    expect(error.code).toBe('KEY_SOURCE_FAILED');
    expect(error.message).toContain(FIXTURE_PGP_FINGERPRINT);
    expect(error.hints.join(' ')).toContain('--recv-keys');
  });

  test('a recipient that is not a fingerprint is refused before gpg runs', async () => {
    const error = await rejection(createGpgKeySource({ env: keyring.env }).wrap(new Uint8Array(32), '--homedir=/tmp'));
    expect(error.code).toBe('INVALID_RECIPIENT');
  });
});

describe('failures', () => {
  test('gpg not installed: KEY_SOURCE_FAILED with a hint to install GnuPG', async () => {
    const source = createGpgKeySource({ env: { ...keyring.env, SOPS_GPG_EXEC: join(keyring.dir, 'no-such-gpg') } });
    expect(source.describe()).toBe(`${join(keyring.dir, 'no-such-gpg')} (GNUPGHOME=${keyring.dir})`);
    const error = await rejection(source.unwrap((await readYamlFixture()).entry));
    expect(error.code).toBe('KEY_SOURCE_FAILED');
    expect(error.hints.join(' ')).toMatch(/install GnuPG/);
  });

  test('SOPS_GPG_EXEC picks the binary', async () => {
    const gpgPath = execFileSync('sh', ['-c', 'command -v gpg'], { env: keyring.env }).toString().trim();
    const source = createGpgKeySource({ env: { ...keyring.env, SOPS_GPG_EXEC: gpgPath } });
    expect(source.describe()).toBe(`${gpgPath} (GNUPGHOME=${keyring.dir})`);
    expect((await source.unwrap((await readYamlFixture()).entry))?.length).toBe(32);
  });

  test('describe() without GNUPGHOME', () => {
    expect(createGpgKeySource({ env: {} }).describe()).toBe('gpg (default GnuPG home)');
  });

  test('a message that is not for a 32/33-byte secret is DATA_KEY_INVALID and never echoes it', async () => {
    const secret = 'canary-not-a-data-key';
    const enc = keyring.gpg(['--batch', '--armor', '--trust-model', 'always', '--recipient', FIXTURE_PGP_FINGERPRINT, '--encrypt'], secret).toString();
    const error = await rejection(createGpgKeySource({ env: keyring.env }).unwrap({ fp: FIXTURE_PGP_FINGERPRINT, enc, created_at: '2026-01-01T00:00:00Z' }));
    expect(error.code).toBe('DATA_KEY_INVALID');
    expect(JSON.stringify(error.toJSON()) + error.message).not.toContain('canary');
  });

  test('a 33-byte Shamir share unwraps', async () => {
    const share = new Uint8Array(randomBytes(33));
    const source = createGpgKeySource({ env: keyring.env });
    const entry = await source.wrap(share, FIXTURE_PGP_FINGERPRINT);
    expect(Buffer.from((await source.unwrap(entry))!).equals(Buffer.from(share))).toBe(true);
  });

  test('a damaged message is KEY_SOURCE_FAILED, not "no secret key"', async () => {
    const { entry } = await readYamlFixture();
    const lines = entry.enc.split('\n');
    lines[3] = lines[3]!.replace(/[A-Za-z]/g, (letter) => (letter === 'A' ? 'B' : 'A'));
    const error = await rejection(createGpgKeySource({ env: keyring.env }).unwrap({ ...entry, enc: lines.join('\n') }));
    expect(error.code).toBe('KEY_SOURCE_FAILED');
    expect(error.message).toContain(entry.fp);
  });

  test('a passphrase-protected key the agent cannot unlock is KEY_SOURCE_FAILED with an agent hint', async () => {
    const home = await createGnupgHome();
    try {
      home.gpg(['--batch', '--pinentry-mode', 'loopback', '--passphrase', 'pw', '--quick-gen-key', 'protected <p@example.com>', 'future-default', 'default', 'never']);
      const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(home.gpg(['--with-colons', '--list-keys']).toString())![1]!;
      const source = createGpgKeySource({ env: home.env });
      const entry = await source.wrap(new Uint8Array(32), fingerprint);
      const error = await rejection(source.unwrap(entry));
      expect(error.code).toBe('KEY_SOURCE_FAILED');
      expect(error.hints.join(' ')).toContain('GPG_TTY');
    } finally {
      await home.remove();
    }
  });
});

describe('fingerprints', () => {
  test('compare ignoring case and spaces', () => {
    expect(sameFingerprint('fbc7 b9e2 a4f9 289a c0c1 d484 3d16 cee4 a273 81b4', FIXTURE_PGP_FINGERPRINT)).toBe(true);
    expect(sameFingerprint(FIXTURE_PGP_FINGERPRINT, 'D7229043384BCC60326C6FB9D8720D957C3D3074')).toBe(false);
    expect(normalizeFingerprint(' AB CD ')).toBe('ABCD');
  });
});

describe('through the key-group layer', () => {
  test('a mixed group (age + pgp) unwraps with either source', async () => {
    const dataKey = new Uint8Array(randomBytes(32));
    const age = await generateAgeIdentity();
    const identity = AgeIdentity.parse(age.identity)!;
    const withKey = createGpgKeySource({ env: keyring.env });
    const [group] = await wrapDataKey(dataKey, [{ age: [age.recipient], pgp: [FIXTURE_PGP_FINGERPRINT] }], 0, { pgp: withKey });
    expect(group!.age).toHaveLength(1);
    expect(group!.pgp).toHaveLength(1);
    expect(group!.pgp[0]!.fp).toBe(FIXTURE_PGP_FINGERPRINT);

    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    // only gpg has the key
    expect(hex(await unwrapDataKey([group!], 0, [], { tried: [withKey.describe()], pgp: withKey }))).toBe(hex(dataKey));
    // only age has the key; gpg says "no secret key" and the age entry wins
    const withoutKey = createGpgKeySource({ env: empty.env });
    expect(hex(await unwrapDataKey([group!], 0, [identity], { tried: [], pgp: withoutKey, decryptionOrder: ['pgp', 'age'] }))).toBe(hex(dataKey));
    // neither: the error lists both recipients and what was tried
    const error = await rejection(unwrapDataKey([group!], 0, [], { tried: [withoutKey.describe()], pgp: withoutKey }));
    expect(error).toBeInstanceOf(NoIdentityMatchError);
    expect(error.message).toContain(FIXTURE_PGP_FINGERPRINT);
    expect(error.message).toContain(`GNUPGHOME=${empty.dir}`);
  });
});
