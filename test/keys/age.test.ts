import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { CofferError } from '../../src/errors.js';
import { type Stanza, armorAgeFile, dearmorAgeFile, encodeHeaderNoMac, parseAgeHeader } from '../../src/keys/age-file.js';
import {
  AgeIdentity,
  generateAgeIdentity,
  parseAgeRecipient,
  recipientOfIdentity,
  unwrapWithAgeIdentities,
  wrapForAgeRecipient,
} from '../../src/keys/age.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/sops/age');
const FIXTURE_IDENTITY = 'AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P';
const FIXTURE_RECIPIENT = 'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr';
const FIXTURE_DATA_KEY = '81d247290bee0b25484e76101e727f63fc984896953fe4888864f49db529e73a';
const IMPLEMENTATIONS = ['native', 'age-encryption', 'auto'] as const;

let dir: string;
let fixtureEntries: { recipient: string; enc: string }[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-age-'));
  const document = parse(await readFile(join(FIXTURES, 'secret.enc.yaml'), 'utf8'));
  fixtureEntries = document.sops.age;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function identity(text: string): AgeIdentity {
  const parsed = AgeIdentity.parse(text);
  if (!parsed) throw new Error('bad test identity');
  return parsed;
}

function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes && Buffer.from(bytes).toString('hex');
}

async function ageKeyFile(secret: string): Promise<string> {
  const path = join(dir, `key-${randomBytes(4).toString('hex')}.txt`);
  await writeFile(path, `# test key\n${secret}\n`);
  return path;
}

/** Expects a rejected promise with a CofferError of the given code. */
async function expectCofferError(promise: Promise<unknown>, code: string): Promise<CofferError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CofferError);
  expect((error as CofferError).code).toBe(code);
  return error as CofferError;
}

describe('the SOPS age fixture', () => {
  test.each(IMPLEMENTATIONS)('unwraps the first recipient to the documented data key (%s)', async (implementation) => {
    expect(fixtureEntries[0]!.recipient).toBe(FIXTURE_RECIPIENT);
    const keyFile = await readFile(join(FIXTURES, 'key.txt'), 'utf8');
    const secret = keyFile.split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1'))!;
    const dataKey = await unwrapWithAgeIdentities(fixtureEntries[0]!.enc, [identity(secret)], { implementation });
    expect(hex(dataKey)).toBe(FIXTURE_DATA_KEY);
  });

  test.each(IMPLEMENTATIONS)('other recipients do not match the test identity (%s)', async (implementation) => {
    for (const entry of fixtureEntries.slice(1)) {
      expect(await unwrapWithAgeIdentities(entry.enc, [identity(FIXTURE_IDENTITY)], { implementation })).toBeUndefined();
    }
  });

  test('recipientOfIdentity gives the fixture public key', () => {
    expect(recipientOfIdentity(FIXTURE_IDENTITY)).toBe(FIXTURE_RECIPIENT);
    expect(identity(FIXTURE_IDENTITY).recipient).toBe(FIXTURE_RECIPIENT);
  });
});

describe('interop with the age CLI', () => {
  test('a data key wrapped by coffer decrypts with `age -d -i key.txt`', async () => {
    const { identity: secret, recipient } = await generateAgeIdentity();
    const dataKey = randomBytes(32);
    const armored = await wrapForAgeRecipient(dataKey, recipient);
    expect(armored).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END AGE ENCRYPTED FILE-----\n$/);
    const plaintext = execFileSync('age', ['-d', '-i', await ageKeyFile(secret)], { input: armored });
    expect(hex(plaintext)).toBe(hex(dataKey));
    // the binary form too (de-armored)
    const binary = execFileSync('age', ['-d', '-i', await ageKeyFile(secret)], { input: dearmorAgeFile(armored) });
    expect(hex(binary)).toBe(hex(dataKey));
  });

  test('generateAgeIdentity matches `age-keygen -y`', async () => {
    const { identity: secret, recipient } = await generateAgeIdentity();
    expect(secret).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    const fromCli = execFileSync('age-keygen', ['-y', await ageKeyFile(secret)], { encoding: 'utf8' }).trim();
    expect(recipient).toBe(fromCli);
  });

  test('recipientOfIdentity matches `age-keygen -y` for a key made by age-keygen', async () => {
    const path = join(dir, 'cli-key.txt');
    execFileSync('age-keygen', ['-o', path], { stdio: 'ignore' });
    const text = await readFile(path, 'utf8');
    const secret = text.split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1'))!;
    const fromCli = execFileSync('age-keygen', ['-y', path], { encoding: 'utf8' }).trim();
    expect(recipientOfIdentity(secret)).toBe(fromCli);
  });

  test.each(IMPLEMENTATIONS)('a file made by `age -r ... -a` unwraps (%s)', async (implementation) => {
    const first = await generateAgeIdentity();
    const second = await generateAgeIdentity();
    const dataKey = randomBytes(32);
    const armored = execFileSync('age', ['-r', first.recipient, '-r', second.recipient, '-a'], { input: dataKey }).toString();
    for (const secret of [first.identity, second.identity]) {
      expect(hex(await unwrapWithAgeIdentities(armored, [identity(secret)], { implementation }))).toBe(hex(dataKey));
    }
    expect(await unwrapWithAgeIdentities(armored, [identity(FIXTURE_IDENTITY)], { implementation })).toBeUndefined();
  });

  test('a larger multi-chunk payload from the CLI decrypts identically on both paths', async () => {
    const generated = await generateAgeIdentity();
    const payload = randomBytes(64 * 1024 * 2 + 5);
    const armored = execFileSync('age', ['-r', generated.recipient, '-a'], { input: payload }).toString();
    const native = await unwrapWithAgeIdentities(armored, [identity(generated.identity)], { implementation: 'native' });
    const fallback = await unwrapWithAgeIdentities(armored, [identity(generated.identity)], { implementation: 'age-encryption' });
    expect(hex(native)).toBe(hex(payload));
    expect(hex(fallback)).toBe(hex(native));
  });

  test('an exact 64 KiB payload (final full chunk) decrypts natively', async () => {
    const generated = await generateAgeIdentity();
    const payload = randomBytes(64 * 1024);
    const armored = execFileSync('age', ['-r', generated.recipient, '-a'], { input: payload }).toString();
    expect(hex(await unwrapWithAgeIdentities(armored, [identity(generated.identity)], { implementation: 'native' }))).toBe(hex(payload));
  });
});

describe('fast path and age-encryption agree', () => {
  test('on coffer-wrapped data keys and shares, with several identities', async () => {
    const identities = await Promise.all([generateAgeIdentity(), generateAgeIdentity(), generateAgeIdentity()]);
    const parsed = identities.map((generated) => identity(generated.identity));
    for (const size of [32, 33]) {
      const dataKey = randomBytes(size);
      for (const generated of identities) {
        const armored = await wrapForAgeRecipient(dataKey, generated.recipient);
        const native = await unwrapWithAgeIdentities(armored, parsed, { implementation: 'native' });
        const fallback = await unwrapWithAgeIdentities(armored, parsed, { implementation: 'age-encryption' });
        expect(hex(native)).toBe(hex(dataKey));
        expect(hex(fallback)).toBe(hex(native));
      }
    }
  });

  test('a file written by age-encryption unwraps natively', async () => {
    const { Encrypter, armor } = await import('age-encryption');
    const generated = await generateAgeIdentity();
    const encrypter = new Encrypter();
    encrypter.addRecipient(generated.recipient);
    const dataKey = randomBytes(32);
    const armored = armor.encode(await encrypter.encrypt(dataKey));
    expect(hex(await unwrapWithAgeIdentities(armored, [identity(generated.identity)], { implementation: 'native' }))).toBe(hex(dataKey));
  });
});

describe('other recipient kinds (age-encryption fallback)', () => {
  test('scrypt passphrase recipients', async () => {
    const dataKey = randomBytes(32);
    const armored = await wrapForAgeRecipient(dataKey, { passphrase: 'correct horse battery staple', workFactor: 10 });
    expect(hex(await unwrapWithAgeIdentities(armored, [AgeIdentity.fromPassphrase('correct horse battery staple')]))).toBe(hex(dataKey));
    expect(await unwrapWithAgeIdentities(armored, [AgeIdentity.fromPassphrase('wrong')])).toBeUndefined();
    // an X25519 identity alone never matches an scrypt stanza
    expect(await unwrapWithAgeIdentities(armored, [identity(FIXTURE_IDENTITY)])).toBeUndefined();
  });

  test('post-quantum recipients', async () => {
    const secret = await generateHybridIdentity();
    const recipient = await identityToRecipient(secret);
    expect(parseAgeRecipient(recipient).kind).toBe('post-quantum');
    const dataKey = randomBytes(32);
    const armored = await wrapForAgeRecipient(dataKey, recipient);
    const pq = AgeIdentity.parse(secret)!;
    expect(pq.kind).toBe('post-quantum');
    expect(hex(await unwrapWithAgeIdentities(armored, [identity(FIXTURE_IDENTITY), pq]))).toBe(hex(dataKey));
    expect(await unwrapWithAgeIdentities(armored, [pq], { implementation: 'native' })).toBeUndefined();
  });

  test('plugin identities are kept but never match', async () => {
    const plugin = AgeIdentity.parse('AGE-PLUGIN-YUBIKEY-1QQQQQQ')!;
    expect(plugin.kind).toBe('plugin');
    expect(await unwrapWithAgeIdentities(fixtureEntries[0]!.enc, [plugin])).toBeUndefined();
  });
});

describe('tampering', () => {
  async function freshWrap() {
    const generated = await generateAgeIdentity();
    const dataKey = randomBytes(32);
    const binary = dearmorAgeFile(await wrapForAgeRecipient(dataKey, generated.recipient));
    return { binary, ids: [identity(generated.identity)], dataKey };
  }

  function flip(binary: Uint8Array, offset: number): string {
    const copy = Uint8Array.from(binary);
    copy[offset]! ^= 0x01;
    return armorAgeFile(copy);
  }

  function lineStart(binary: Uint8Array, prefix: string): number {
    return Buffer.from(binary).indexOf(prefix);
  }

  /** Re-encodes the file with its first stanza changed, keeping the original MAC line and payload. */
  function withStanza(binary: Uint8Array, change: (stanza: Stanza) => void): string {
    const header = parseAgeHeader(binary);
    change(header.stanzas[0]!);
    const rest = binary.subarray(header.headerNoMac.length);
    return armorAgeFile(Buffer.concat([encodeHeaderNoMac(header.stanzas), rest]));
  }

  test.each(IMPLEMENTATIONS)('a flipped stanza body byte means the identity does not match (%s)', async (implementation) => {
    const { binary, ids } = await freshWrap();
    const tampered = withStanza(binary, (stanza) => {
      stanza.body = Uint8Array.from(stanza.body);
      stanza.body[5]! ^= 0x01;
    });
    expect(await unwrapWithAgeIdentities(tampered, ids, { implementation })).toBeUndefined();
  });

  test.each(IMPLEMENTATIONS)('a flipped ephemeral share means the identity does not match (%s)', async (implementation) => {
    const { binary, ids } = await freshWrap();
    const tampered = withStanza(binary, (stanza) => {
      const share = Buffer.from(`${stanza.args[1]!}=`, 'base64');
      share[7]! ^= 0x01;
      stanza.args[1] = share.toString('base64').replace(/=+$/, '');
    });
    expect(await unwrapWithAgeIdentities(tampered, ids, { implementation })).toBeUndefined();
  });

  test.each(IMPLEMENTATIONS)('a malformed stanza is DATA_KEY_INVALID (%s)', async (implementation) => {
    const { binary, ids } = await freshWrap();
    const shortBody = withStanza(binary, (stanza) => {
      stanza.body = stanza.body.subarray(1);
    });
    await expectCofferError(unwrapWithAgeIdentities(shortBody, ids, { implementation }), 'DATA_KEY_INVALID');
    const extraArgument = withStanza(binary, (stanza) => {
      stanza.args.push('extra');
    });
    await expectCofferError(unwrapWithAgeIdentities(extraArgument, ids, { implementation }), 'DATA_KEY_INVALID');
  });

  test.each(IMPLEMENTATIONS)('a flipped header MAC is DATA_KEY_INVALID (%s)', async (implementation) => {
    const { binary, ids } = await freshWrap();
    await expectCofferError(unwrapWithAgeIdentities(flip(binary, lineStart(binary, '--- ') + 6), ids, { implementation }), 'DATA_KEY_INVALID');
  });

  test.each(IMPLEMENTATIONS)('a flipped version line is DATA_KEY_INVALID (%s)', async (implementation) => {
    const { binary, ids } = await freshWrap();
    await expectCofferError(unwrapWithAgeIdentities(flip(binary, 3), ids, { implementation }), 'DATA_KEY_INVALID');
  });

  test.each(IMPLEMENTATIONS)('a flipped payload byte is DATA_KEY_INVALID (%s)', async (implementation) => {
    const { binary, ids } = await freshWrap();
    await expectCofferError(unwrapWithAgeIdentities(flip(binary, binary.length - 20), ids, { implementation }), 'DATA_KEY_INVALID');
    await expectCofferError(unwrapWithAgeIdentities(flip(binary, binary.length - 49), ids, { implementation }), 'DATA_KEY_INVALID');
  });

  test('a truncated payload is DATA_KEY_INVALID', async () => {
    const { binary, ids } = await freshWrap();
    await expectCofferError(unwrapWithAgeIdentities(armorAgeFile(binary.subarray(0, binary.length - 1)), ids), 'DATA_KEY_INVALID');
  });

  test('malformed armor is DATA_KEY_INVALID', async () => {
    const ids = [identity(FIXTURE_IDENTITY)];
    const good = fixtureEntries[0]!.enc;
    await expectCofferError(unwrapWithAgeIdentities('not an age file', ids), 'DATA_KEY_INVALID');
    await expectCofferError(unwrapWithAgeIdentities(good.replace('-----END AGE ENCRYPTED FILE-----', ''), ids), 'DATA_KEY_INVALID');
    await expectCofferError(unwrapWithAgeIdentities(good.replace('YWdl', 'YW*l'), ids), 'DATA_KEY_INVALID');
    const lines = good.split('\n');
    lines[1] = lines[1]!.slice(0, 60);
    await expectCofferError(unwrapWithAgeIdentities(lines.join('\n'), ids), 'DATA_KEY_INVALID');
    // CRLF line ends and surrounding whitespace are accepted, as age's armor reader does
    expect(hex(await unwrapWithAgeIdentities(`\n  ${good.replaceAll('\n', '\r\n')}  \n`, ids))).toBe(FIXTURE_DATA_KEY);
  });
});

describe('recipients and identities', () => {
  test('parseAgeRecipient accepts X25519 recipients, trimmed', () => {
    expect(parseAgeRecipient(`  ${FIXTURE_RECIPIENT}\n`)).toMatchObject({ kind: 'x25519', recipient: FIXTURE_RECIPIENT });
  });

  test('a bad recipient is INVALID_RECIPIENT naming its position, never echoing it', () => {
    const cases = [
      FIXTURE_RECIPIENT.slice(0, -1) + (FIXTURE_RECIPIENT.endsWith('r') ? 'q' : 'r'), // bad checksum
      'age1notbech32',
      'bob@example.com',
      FIXTURE_IDENTITY, // a secret key pasted as a recipient
    ];
    for (const recipient of cases) {
      try {
        parseAgeRecipient(recipient, 2);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(CofferError);
        const cofferError = error as CofferError;
        expect(cofferError.code).toBe('INVALID_RECIPIENT');
        expect(cofferError.message).toContain('#2');
        expect(cofferError.message).not.toContain(recipient);
        expect(JSON.stringify(cofferError.toJSON())).not.toContain(recipient);
      }
    }
  });

  test('plugin recipients are UNSUPPORTED_KEY_SOURCE, a broken ssh key INVALID_RECIPIENT (ssh keys: age-ssh.test.ts)', async () => {
    expect(() => parseAgeRecipient('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH1 me@host', 1)).toThrow(/^age recipient #1 is not valid: the key data is not valid base64$/);
    const plugin = 'age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t';
    const error = await expectCofferError(wrapForAgeRecipient(randomBytes(32), plugin, { position: 3 }), 'UNSUPPORTED_KEY_SOURCE');
    expect(error.message).toContain('#3');
  });

  test('native bech32 and X25519 agree with age-encryption on generated keys', async () => {
    for (let i = 0; i < 5; i++) {
      const secret = await generateX25519Identity();
      expect(recipientOfIdentity(secret)).toBe(await identityToRecipient(secret));
    }
  });

  test('AgeIdentity.parse rejects malformed identities', () => {
    expect(AgeIdentity.parse(FIXTURE_IDENTITY.toLowerCase())).toBeUndefined();
    expect(AgeIdentity.parse(FIXTURE_IDENTITY.slice(0, -1))).toBeUndefined();
    expect(AgeIdentity.parse(FIXTURE_RECIPIENT)).toBeUndefined();
    expect(() => recipientOfIdentity('AGE-SECRET-KEY-1XYZ')).toThrow(CofferError);
  });

  test('an identity never prints its key material', () => {
    const parsed = identity(FIXTURE_IDENTITY);
    for (const text of [String(parsed), JSON.stringify(parsed), inspect(parsed), inspect({ nested: [parsed] })]) {
      expect(text).not.toContain('AGE-SECRET-KEY');
      expect(text).not.toContain(FIXTURE_IDENTITY.slice(20, 40));
    }
    expect(String(AgeIdentity.fromPassphrase('hunter2'))).not.toContain('hunter2');
  });
});
