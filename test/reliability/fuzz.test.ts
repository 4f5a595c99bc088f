// Fuzzing every parser that sees untrusted input: it returns or throws a CofferError, nothing else,
// and every input finishes within a time bound. Inputs are random text and random edits of real
// files (which reach far deeper than random text). FUZZ_RUNS scales the runs (the stress config sets it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_INPUT_BYTES } from '../../src/cli/file-access.js';
import { CofferError } from '../../src/errors.js';
import { openFile } from '../../src/file/secrets-file.js';
import { parseEncryptedValue } from '../../src/format/encrypted-value.js';
import { parseKeyPath } from '../../src/format/key-path.js';
import { parseMetadata } from '../../src/format/metadata.js';
import { parseAgeRecipient } from '../../src/keys/age.js';
import { parseSshIdentity } from '../../src/keys/age-ssh.js';
import { getStore } from '../../src/format/stores/index.js';
import type { PlainValue, StoreName } from '../../src/format/tree.js';
import { parseCofferConfig } from '../../src/policy/coffer-config.js';
import { parseSopsConfig } from '../../src/policy/sops-config.js';
import { createSandbox, jsonError } from '../cli/sandbox.js';
import { keyRingFor } from '../helpers/keys.js';
import { buildFixtures, makeTamperKeys, type TamperFixture } from './tamper-suite.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
/** Per input; generous for a loaded 2-core CI machine, far below what a hang would take. */
const MAX_MS = 2_000;
const DEEP_BLOCKS = Number(process.env.FUZZ_DEEP_BLOCKS ?? 1000);
const STORES: StoreName[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'sops');

const stats = { inputs: 0, cofferErrors: 0, slowest: 0 };

/** Fails on any throw that is not a CofferError, or when the input took longer than MAX_MS. */
function check(name: string, input: unknown, error: unknown, took: number): void {
  stats.inputs += 1;
  stats.slowest = Math.max(stats.slowest, took);
  const shown = () => JSON.stringify(input, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value instanceof Map ? [...value] : value))?.slice(0, 300);
  if (error !== undefined) {
    if (!(error instanceof CofferError)) throw new Error(`${name} threw ${(error as Error)?.constructor?.name}: ${String(error)} for input ${shown()}`);
    stats.cofferErrors += 1;
  }
  if (took > MAX_MS) throw new Error(`${name} took ${Math.round(took)} ms for input ${shown()}`);
}

function mustBeSafe(name: string, input: unknown, fn: () => unknown): void {
  const started = performance.now();
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught ?? new Error('threw undefined');
  }
  check(name, input, error, performance.now() - started);
}

async function mustBeSafeAsync(name: string, input: unknown, fn: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  let error: unknown;
  try {
    await fn();
  } catch (caught) {
    error = caught ?? new Error('threw undefined');
  }
  check(name, input, error, performance.now() - started);
}

/** Random edits of a real file: replace, insert or delete short runs at random places. */
function editsOf(text: string): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat({ max: Math.max(0, text.length - 1) }),
    remove: fc.nat({ max: 8 }),
    insert: fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('\n', ': ', '- ', '"', "'", '{', '}', '[', ']', ',', '=', '#', '&a ', '*a', '!!binary ', '\t', '\\', '\u0000', 'ENC[', 'sops', '\r\n', '  ', '<<: *a'),
    ),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let result = text;
    for (const { at, remove, insert } of edits) {
      const position = Math.min(at, result.length);
      result = result.slice(0, position) + insert + result.slice(position + remove);
    }
    return result;
  });
}

/** Random byte edits of a binary blob (an SSH key's wire form): overwrite, insert or cut. */
function byteEditsOf(bytes: Buffer): fc.Arbitrary<Buffer> {
  const edit = fc.record({ at: fc.nat({ max: Math.max(0, bytes.length - 1) }), remove: fc.nat({ max: 4 }), insert: fc.uint8Array({ maxLength: 4 }) });
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    let result = bytes;
    for (const { at, remove, insert } of edits) {
      const position = Math.min(at, result.length);
      result = Buffer.concat([result.subarray(0, position), insert, result.subarray(position + remove)]);
    }
    return result;
  });
}

let fixtures: TamperFixture[];
let ssh: { ed25519: { key: string; pub: string }; rsa: { key: string; pub: string }; rsaPem: string };
beforeAll(async () => {
  fixtures = await buildFixtures(await makeTamperKeys());
  const dir = mkdtempSync(join(tmpdir(), 'coffer-fuzz-ssh-'));
  const keygen = (name: string, ...args: string[]) => {
    execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-f', join(dir, name)], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, name), 'utf8'), pub: readFileSync(join(dir, `${name}.pub`), 'utf8').trim() };
  };
  ssh = { ed25519: keygen('ed', '-t', 'ed25519'), rsa: keygen('rsa', '-t', 'rsa', '-b', '2048'), rsaPem: keygen('pem', '-t', 'rsa', '-b', '2048', '-m', 'PEM').key };
  rmSync(dir, { recursive: true, force: true });
});

describe('fuzzing parsers: only CofferError, bounded time', () => {
  it('the ENC[...] grammar', () => {
    const field = fc.oneof(fc.base64String({ maxLength: 60 }), fc.string({ maxLength: 20 }));
    const enc = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(field, field, field, fc.oneof(fc.constantFrom('str', 'int', 'float', 'bool', 'bytes', 'time', 'comment'), fc.string({ maxLength: 8 }))).map(
        ([data, iv, tag, type]) => `ENC[AES256_GCM,data:${data},iv:${iv},tag:${tag},type:${type}]`,
      ),
    );
    fc.assert(fc.property(enc, (text) => mustBeSafe('parseEncryptedValue', text, () => parseEncryptedValue(text, 'f: k'))), { numRuns: RUNS * 3 });
  });

  it('key paths', () => {
    const path = fc.oneof(fc.string({ maxLength: 60 }), fc.stringMatching(/^(\[("[^"]*"|'[^']*'|\d{1,3})\]){0,4}[\]["'\\]?$/), fc.stringMatching(/^[a-z0-9.\\]{0,30}$/));
    fc.assert(fc.property(path, (text) => mustBeSafe('parseKeyPath', text, () => parseKeyPath(text))), { numRuns: RUNS * 3 });
  });

  it.each(STORES)('the %s store on random text', (store) => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })), (text) =>
        mustBeSafe(`${store} parse`, text, () => {
          const document = getStore(store).parse(text, 'fuzz');
          document.readMetadata();
          document.toPlain();
          document.serialize();
        }),
      ),
      { numRuns: RUNS },
    );
  });

  it('every store on random edits of real encrypted files, through openFile', async () => {
    for (const fixture of fixtures) {
      await fc.assert(
        fc.asyncProperty(editsOf(fixture.text), async (text) =>
          mustBeSafeAsync(`openFile ${fixture.name}`, text, () => openFile({ file: 'fuzz', store: fixture.store, content: new TextEncoder().encode(text) }, fixture.keys)),
        ),
        { numRuns: RUNS },
      );
    }
  });

  it('the sops metadata from any plain value', () => {
    const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.bigInt(), fc.double(), fc.boolean(), fc.constant(null));
    const plain: fc.Arbitrary<PlainValue> = fc.letrec<{ value: PlainValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        scalar,
        fc.array(tie('value'), { maxLength: 3 }),
        fc
          .array(fc.tuple(fc.constantFrom('age', 'pgp', 'kms', 'key_groups', 'lastmodified', 'mac', 'version', 'shamir_threshold', 'recipient', 'enc', 'encrypted_regex', 'unencrypted_suffix', 'mac_only_encrypted', 'x'), tie('value')), { maxLength: 6 })
          .map((entries) => new Map(entries)),
      ),
    })).value;
    fc.assert(fc.property(plain, (value) => mustBeSafe('parseMetadata', value, () => parseMetadata(value, 'fuzz'))), { numRuns: RUNS * 2 });
  });

  it('.sops.yaml', () => {
    const real = 'creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr\n  - path_regex: ".*"\n    key_groups:\n      - age:\n          - age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr\n    shamir_threshold: 1\n    encrypted_regex: "^(data|password)$"\nstores:\n  json:\n    indent: 2\n';
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), editsOf(real)), (text) => mustBeSafe('parseSopsConfig', text, () => parseSopsConfig(text, '.sops.yaml'))),
      { numRuns: RUNS * 2 },
    );
  });

  it('coffer.yaml', () => {
    const fp = 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4';
    const real = `version: 1\nrecipients:\n  alice: { age: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p], pgp: ["${fp}"], email: alice@example.com }\n  ci: { age: age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg }\ngroups:\n  developers: [alice]\n  operators: [ci, developers]\nenvironments:\n  dev:\n    files: ["secrets/dev/**", "secrets/dev.{yaml,env}"]\n    readers: [developers, ci]\n    encrypted_regex: "^(password|token)$"\n  prod:\n    files: ["secrets/prod.*"]\n    key_groups: [[operators], [ci]]\n    shamir_threshold: 2\n`;
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), editsOf(real), fc.constantFrom('version: *a\n', `a: &a [x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nversion: 1\n`)), (text) =>
        mustBeSafe('parseCofferConfig', text, () => parseCofferConfig(text, '/repo/coffer.yaml', '/repo')),
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('SSH public keys as age recipients', () => {
    const real = ssh.ed25519.pub.split(' ')[1]!;
    const blob = Buffer.from(real, 'base64');
    const line = fc.oneof(
      fc.string({ maxLength: 120 }).map((text) => `ssh-ed25519 ${text}`),
      editsOf(ssh.ed25519.pub),
      editsOf(ssh.rsa.pub),
      byteEditsOf(blob).map((bytes) => `ssh-ed25519 ${bytes.toString('base64')} x@y`),
      byteEditsOf(Buffer.from(ssh.rsa.pub.split(' ')[1]!, 'base64')).map((bytes) => `ssh-rsa ${bytes.toString('base64')}`),
    );
    fc.assert(fc.property(line, (text) => mustBeSafe('parseAgeRecipient (ssh)', text, () => parseAgeRecipient(text, 1))), { numRuns: RUNS * 3 });
  });

  it('SSH private keys as identities: a problem, never a throw', () => {
    const body = (text: string) => Buffer.from(text.split('\n').slice(1, -2).join(''), 'base64');
    const armor = (bytes: Buffer) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${bytes.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    const input = fc.oneof(
      editsOf(ssh.ed25519.key),
      editsOf(ssh.rsaPem),
      byteEditsOf(body(ssh.ed25519.key)).map(armor),
      byteEditsOf(body(ssh.rsa.key)).map(armor),
      fc.string({ maxLength: 200 }).map((text) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${text}\n-----END OPENSSH PRIVATE KEY-----\n`),
    );
    fc.assert(
      fc.property(input, (text) =>
        mustBeSafe('parseSshIdentity', text, () => {
          const result = parseSshIdentity(Buffer.from(text));
          if (!('identity' in result) && typeof result.problem !== 'string') throw new Error('no problem given');
        }),
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('inputs the fuzzer found (kept as fixed cases)', () => {
    // A literal tab inside a double-quoted YAML scalar or key is valid YAML; a scanner that hands the
    // text to JSON.parse threw a SyntaxError for it.
    for (const text of ['a: "x\ty"\n', 'a:\n  - "tab\there"\n', '"k\ty": 1\n', 'a: "\u0001"\n', "a: 'x\ty'\n"]) {
      mustBeSafe('yaml parse', text, () => getStore('yaml').parse(text, 'case.yaml').toPlain());
    }
  });

  it('reports its figures', () => {
    console.log(`fuzz: ${stats.inputs} inputs, ${stats.cofferErrors} rejected with a CofferError, 0 other throws, slowest ${Math.round(stats.slowest)} ms`);
    expect(stats.inputs).toBeGreaterThan(RUNS * 10);
  });
});

describe('resource limits', () => {
  it('a billion-laughs YAML alias bomb is refused with INPUT_TOO_LARGE, quickly', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const bomb = `${levels.join('\n')}\n`;
    const started = performance.now();
    let caught: unknown;
    try {
      getStore('yaml').parse(bomb, 'bomb.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CofferError);
    expect((caught as CofferError).code).toBe('INPUT_TOO_LARGE');
    expect(performance.now() - started).toBeLessThan(MAX_MS);
  });

  it('a deeply nested document is parsed or refused, never a stack overflow', () => {
    for (const [store, text] of [
      ['json', `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`],
      ['yaml', `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
      // Block nesting costs O(depth²) bytes: 1,000 levels is 0.5 MB, the stress run's 3,000 is 4.5 MB
      // (a scanner once took 3 s and 66 s on these).
      ['yaml', Array.from({ length: DEEP_BLOCKS }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')],
    ] as const) {
      mustBeSafe(`deep ${store}`, text.slice(0, 40), () => getStore(store).parse(text, `deep.${store}`).toPlain());
    }
  });

  it('an input above MAX_INPUT_BYTES is refused with INPUT_TOO_LARGE before parsing (file and stdin)', async () => {
    const sandbox = await createSandbox();
    try {
      const file = await open(sandbox.path('huge.yaml'), 'w');
      await file.truncate(MAX_INPUT_BYTES + 1); // sparse: no disk used
      await file.close();
      const fromFile = await sandbox.run(['decrypt', 'huge.yaml', '--json']);
      expect(fromFile.code).toBe(1);
      expect(jsonError(fromFile).code).toBe('INPUT_TOO_LARGE');
      const fromStdin = await sandbox.run(['decrypt', '--input-type', 'json', '-', '--json'], { stdin: ' '.repeat(MAX_INPUT_BYTES + 1) });
      expect(jsonError(fromStdin).code).toBe('INPUT_TOO_LARGE');
    } finally {
      await sandbox.dispose();
    }
  }, 60_000);

  it('the SOPS age fixture still opens (the fuzz key rings are real)', async () => {
    const key = readFileSync(join(FIXTURES, 'age', 'key.txt'), 'utf8').match(/AGE-SECRET-KEY-1\S+/)?.[0] ?? '';
    const opened = await openFile({ file: 'f', store: 'yaml', content: readFileSync(join(FIXTURES, 'age', 'secret.enc.yaml')) }, keyRingFor({ identity: key, recipient: '' }));
    expect(opened.macVerified).toBe(true);
  });
});
