// Every kind of bad input gets a stable error code, the right exit code, a message naming the
// file (and key path where there is one), a hint, no stack trace and no plaintext.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, jsonError, type Sandbox } from './sandbox.js';

const CANARY = 'canary-bad-input-7f3a';
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'sops');

let sandbox: Sandbox;
let encrypted: string;

beforeAll(async () => {
  sandbox = await createSandbox();
  await sandbox.write('plain.yaml', `db:\n    password: ${CANARY}\n    port: 5432\nother: ${CANARY}-2\n`);
  const result = await sandbox.run(['encrypt', '--age', sandbox.recipient, 'plain.yaml']);
  expect(result.code, result.stderr).toBe(0);
  encrypted = result.stdout;
});
afterAll(() => sandbox.dispose());

interface Case {
  name: string;
  file: string;
  content?: string;
  argv: (file: string) => string[];
  code: string;
  exit: number;
  mentions?: string[];
}

const line = (text: string, key: string) => text.split('\n').find((l) => l.trimStart().startsWith(`${key}: `)) ?? '';
const ciphertextOf = (text: string, key: string) => line(text, key).split(': ')[1] ?? '';

const cases: Case[] = [
  { name: 'malformed YAML', file: 'broken.yaml', content: `a: 1\nb: [unclosed\nc: ${CANARY}\n`, argv: (f) => ['encrypt', '--age', 'RECIPIENT', f], code: 'PARSE_ERROR', exit: 1, mentions: ['broken.yaml:'] },
  { name: 'malformed JSON', file: 'broken.json', content: `{\n  "a": "${CANARY}",\n  "b": \n}\n`, argv: (f) => ['encrypt', '--age', 'RECIPIENT', f], code: 'PARSE_ERROR', exit: 1, mentions: ['broken.json:'] },
  { name: 'malformed dotenv', file: 'broken.env', content: `A=1\n${CANARY}\n`, argv: (f) => ['encrypt', '--age', 'RECIPIENT', f], code: 'PARSE_ERROR', exit: 1, mentions: ['broken.env:2'] },
  { name: 'a plaintext file given to decrypt', file: 'clear.yaml', content: `token: ${CANARY}\n`, argv: (f) => ['decrypt', f], code: 'NOT_ENCRYPTED', exit: 1, mentions: ['clear.yaml'] },
  { name: 'an encrypted file given to encrypt', file: 'enc.yaml', argv: (f) => ['encrypt', '--age', 'RECIPIENT', f], code: 'ALREADY_ENCRYPTED', exit: 1, mentions: ['enc.yaml'] },
  { name: 'a truncated ENC value', file: 'truncated.yaml', argv: (f) => ['decrypt', f], code: 'MALFORMED_ENCRYPTED_VALUE', exit: 3, mentions: ['truncated.yaml', 'other'] },
  { name: 'a tampered ENC value', file: 'tampered.yaml', argv: (f) => ['get', f, 'other'], code: 'DECRYPTION_FAILED', exit: 3, mentions: ['tampered.yaml', 'other'] },
  { name: 'a value moved to another key (wrong AAD)', file: 'moved.yaml', argv: (f) => ['decrypt', f], code: 'DECRYPTION_FAILED', exit: 3, mentions: ['moved.yaml', 'other'] },
  { name: 'a MAC mismatch', file: 'mac.yaml', argv: (f) => ['decrypt', f], code: 'MAC_MISMATCH', exit: 3, mentions: ['mac.yaml'] },
  { name: 'an unknown version', file: 'version.yaml', argv: (f) => ['decrypt', f], code: 'UNSUPPORTED_VERSION', exit: 3, mentions: ['version.yaml'] },
  { name: 'a kms-only file', file: 'kms.yaml', argv: (f) => ['decrypt', f], code: 'UNSUPPORTED_KEY_SOURCE', exit: 1, mentions: ['AWS KMS'] },
  { name: 'an unreadable key file', file: 'enc2.yaml', argv: (f) => ['decrypt', '--identity', 'missing-key.txt', f], code: 'KEY_FILE_UNREADABLE', exit: 1, mentions: ['missing-key.txt'] },
  { name: 'a bad recipient string', file: 'plain2.yaml', content: `a: ${CANARY}\n`, argv: (f) => ['encrypt', '--age', 'age1notarealkey', f], code: 'INVALID_RECIPIENT', exit: 2 },
  { name: 'a bad key path', file: 'enc3.yaml', argv: (f) => ['get', f, 'db..password'], code: 'INVALID_KEY_PATH', exit: 2 },
  { name: 'an unknown output type', file: 'enc4.yaml', argv: (f) => ['decrypt', '--output-type', 'toml', f], code: 'UNKNOWN_STORE', exit: 2 },
  { name: 'a missing file', file: 'nowhere.yaml', argv: (f) => ['decrypt', f], code: 'FILE_NOT_FOUND', exit: 1, mentions: ['nowhere.yaml'] },
  { name: 'a missing key path', file: 'enc5.yaml', argv: (f) => ['get', f, 'db.user'], code: 'KEY_NOT_FOUND', exit: 1, mentions: ['enc5.yaml', 'db.user'] },
];

function contentFor(test: Case): string | undefined {
  if (test.content !== undefined) return test.content;
  switch (test.file) {
    case 'truncated.yaml':
      return encrypted.replace(ciphertextOf(encrypted, 'other'), ciphertextOf(encrypted, 'other').slice(0, 40));
    case 'tampered.yaml':
      return encrypted.replace(/^other: ENC\[AES256_GCM,data:(.)/m, (_m, c: string) => `other: ENC[AES256_GCM,data:${c === 'A' ? 'B' : 'A'}`);
    case 'moved.yaml':
      return encrypted.replace(`other: ${ciphertextOf(encrypted, 'other')}`, `other: ${ciphertextOf(encrypted, 'password')}`);
    case 'mac.yaml':
      return encrypted.replace(/^ {4}port: .*\n/m, '');
    case 'version.yaml':
      return encrypted.replace(/version: .*/, 'version: 9.0.0');
    case 'kms.yaml':
      return readFileSync(join(FIXTURES, 'age', 'secret.enc.yaml'), 'utf8')
        .replace(/ {2}kms: \[\]\n/, '  kms:\n    - arn: arn:aws:kms:us-east-1:000000000000:key/test\n      created_at: "2024-03-25T22:08:10Z"\n      enc: AAAA\n      aws_profile: ""\n')
        .replace(/ {2}age:\n(?: {4}.*\n| {6}.*\n| {8}.*\n)+/, '');
    case 'nowhere.yaml':
      return undefined;
    default:
      return encrypted;
  }
}

describe('bad input', () => {
  it.each(cases.map((test) => [test.name, test] as const))('%s', async (_name, test) => {
    const content = contentFor(test);
    if (content !== undefined) await sandbox.write(test.file, content);
    const argv = test.argv(test.file).map((arg) => (arg === 'RECIPIENT' ? sandbox.recipient : arg));
    const before = content;

    const human = await sandbox.run(argv);
    expect(human.code, human.stderr).toBe(test.exit);
    expect(human.stderr).toMatch(/^coffer: error: /);
    expect(human.stderr).toContain('hint: ');
    expect(human.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(human.stderr).not.toContain(CANARY);
    for (const mention of test.mentions ?? []) expect(human.stderr).toContain(mention);

    const json = await sandbox.run([...argv, '--json']);
    expect(json.code).toBe(test.exit);
    const error = jsonError(json);
    expect(error.code).toBe(test.code);
    expect(error.hints.length).toBeGreaterThan(0);
    expect(JSON.stringify(error)).not.toContain(CANARY);
    expect(json.stdout).not.toContain(CANARY);
    // A failed command never changes its input file.
    if (before !== undefined) expect(await sandbox.read(test.file)).toBe(before);
  });
});
