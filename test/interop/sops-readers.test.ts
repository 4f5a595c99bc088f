// coffer's output read by independent implementations: the npm SOPS reader `sops-age`, the real
// `age` CLI for the wrapped data key, and a MAC recomputed here from scratch (sops-age skips it).
import { execFileSync } from 'node:child_process';
import { createDecipheriv, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptSops } from 'sops-age';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { encryptDocument, openFile } from '../../src/file/secrets-file.js';
import { getStore } from '../../src/format/stores/index.js';
import type { StoreName } from '../../src/format/tree.js';
import { keyRingFor, planFor, type TestKey } from '../helpers/keys.js';

let dir: string;
let key: TestKey;
let keyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'coffer-interop-'));
  keyFile = join(dir, 'key.txt');
  // The key itself comes from the real age-keygen, not from coffer.
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
  const text = readFileSync(keyFile, 'utf8');
  key = { identity: text.match(/AGE-SECRET-KEY-1\S+/)![0], recipient: text.match(/public key: (age1\S+)/)![1]! };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PLAINTEXT = {
  yaml: '# database settings\ndb:\n    user: app\n    password: s3cr3t-pa55\n    port: 5432\n    ratio: 0.75\n    tls: true\nhosts:\n    - alpha\n    - beta\nempty: ""\n',
  json: '{\n\t"api": {\n\t\t"token": "tok-123",\n\t\t"retries": 3,\n\t\t"enabled": false\n\t},\n\t"list": ["a", "b"]\n}\n',
  dotenv: 'DATABASE_URL=postgres://u:p@db/app\nAPI_KEY=abc123\n',
} as const;

const EXPECTED = {
  yaml: { db: { user: 'app', password: 's3cr3t-pa55', port: 5432, ratio: 0.75, tls: true }, hosts: ['alpha', 'beta'], empty: '' },
  json: { api: { token: 'tok-123', retries: 3, enabled: false }, list: ['a', 'b'] },
  dotenv: { DATABASE_URL: 'postgres://u:p@db/app', API_KEY: 'abc123' },
};

async function encryptWithCoffer(store: StoreName, text: string): Promise<string> {
  return encryptDocument(getStore(store).parse(text, `in.${store}`), `out.${store}`, keyRingFor(key), { plan: planFor(key) });
}

/** Unwraps the first recipient's data key with the real age CLI. */
function dataKeyByAgeCli(armored: string): Buffer {
  const encFile = join(dir, 'enc.age');
  writeFileSync(encFile, armored);
  return execFileSync('age', ['-d', '-i', keyFile, encFile]);
}

/** An independent reader of the YAML form: decrypt each value, hash them in order, check the MAC. */
function verifyMacIndependently(text: string, dataKey: Buffer): void {
  const tree = parseYaml(text, { intAsBigInt: true }) as Record<string, unknown>;
  const { sops, ...data } = tree as { sops: Record<string, string> } & Record<string, unknown>;
  const decrypt = (value: string, aad: string) => {
    const m = /^ENC\[AES256_GCM,data:(.*),iv:(.*),tag:(.*),type:(.*)\]$/.exec(value)!;
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(m[2]!, 'base64'));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(Buffer.from(m[3]!, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(m[1]!, 'base64')), decipher.final()]);
  };
  const hash = createHash('sha512');
  const walk = (value: unknown, path: string[]) => {
    if (Array.isArray(value)) for (const item of value) walk(item, path);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    else if (value !== '' && value !== null) hash.update(decrypt(String(value), `${path.join(':')}:`));
  };
  walk(data, []);
  const mac = decrypt(sops.mac!, sops.lastmodified!).toString();
  expect(mac).toBe(hash.digest('hex').toUpperCase());
}

describe('files coffer writes', () => {
  it.each(['yaml', 'json', 'dotenv'] as const)('decrypt with sops-age (%s)', async (store) => {
    const encrypted = await encryptWithCoffer(store, PLAINTEXT[store]);
    const decrypted = await decryptSops(encrypted, { secretKey: key.identity, fileType: store === 'dotenv' ? 'env' : store });
    expect(decrypted).toEqual(EXPECTED[store]);
  });

  it('wrap the data key so that the age CLI unwraps it, and carry a MAC an independent reader verifies', async () => {
    const encrypted = await encryptWithCoffer('yaml', PLAINTEXT.yaml);
    const armored = (parseYaml(encrypted) as { sops: { age: { enc: string }[] } }).sops.age[0]!.enc;
    expect(armored).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n$/);
    const dataKey = dataKeyByAgeCli(armored);
    expect(dataKey).toHaveLength(32);
    const opened = await openFile({ file: 'out.yaml', store: 'yaml', content: new TextEncoder().encode(encrypted) }, keyRingFor(key));
    expect(dataKey.equals(Buffer.from(opened.dataKey))).toBe(true);
    verifyMacIndependently(encrypted, dataKey);
    // Comments are encrypted as SOPS does.
    expect(encrypted).toMatch(/^#ENC\[AES256_GCM,.*type:comment\]$/m);
  });

  it('accept a data key wrapped by `age -r` in place of their own', async () => {
    const encrypted = await encryptWithCoffer('yaml', PLAINTEXT.yaml);
    const armored = (parseYaml(encrypted) as { sops: { age: { enc: string }[] } }).sops.age[0]!.enc;
    const dataKey = dataKeyByAgeCli(armored);
    const rewrapped = execFileSync('age', ['-r', key.recipient, '-a'], { input: dataKey }).toString();
    const indent = '            ';
    const replaced = encrypted.replace(armored.trimEnd().split('\n').join(`\n${indent}`), rewrapped.trimEnd().split('\n').join(`\n${indent}`));
    expect(replaced).not.toBe(encrypted);
    const opened = await openFile({ file: 'out.yaml', store: 'yaml', content: new TextEncoder().encode(replaced) }, keyRingFor(key));
    expect(opened.macVerified).toBe(true);
    expect((opened.plain.toPlain()[0] as Map<string, unknown>).get('empty')).toBe('');
  });
});
