// The CLI in-process, from a table of scenarios: each runs coffer commands in one sandbox with
// injected streams, env and cwd, and checks exit codes, output and the files left behind.
// Every secret value contains "canary"; the last test checks no stderr of any scenario shows one.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedLines, createSandbox, jsonError, type Sandbox, waitForNextSecond } from './sandbox.js';

const CANARY = /canary/i;
const fixtures = new URL('../fixtures/sops/age/', import.meta.url);

const plainYaml = `# service settings (fake values)
db:
  host: db.internal
  port: 5432
  password: canary-db-7f3a
api:
  token: canary-token-19c2
  hosts:
    - a.example.com
    - b.example.com
enabled: true
`;

const plainFiles: Record<string, string> = {
  'round.yaml': plainYaml,
  'round.json': '{\n\t"db": {\n\t\t"password": "canary-json-51e0",\n\t\t"port": 5432\n\t},\n\t"enabled": true\n}\n',
  'round.env': 'DB_PASSWORD=canary-env-a81d\nAPI_TOKEN=canary-env-0b44\n',
  'round.ini': '[db]\npassword = canary-ini-3c9e\nport = 5432\n\n[api]\ntoken = canary-ini-77aa\n',
};

/** Encrypts `content` as `name` for the sandbox recipient and returns the encrypted text. */
async function encrypted(sb: Sandbox, name: string, content: string): Promise<string> {
  await sb.write(name, content);
  const result = await sb.run(['encrypt', '--in-place', '--age', sb.recipient, name]);
  expect(result.code, result.stderr).toBe(0);
  return sb.read(name);
}

/** A YAML file of about 100 values in 10 nested maps. */
function hundredValues(): string {
  const lines = ['# generated'];
  for (let service = 0; service < 10; service++) {
    lines.push(`service${service}:`);
    for (let key = 0; key < 10; key++) lines.push(`  key${key}: canary-${service}-${key}`);
  }
  return `${lines.join('\n')}\n`;
}

interface Scenario {
  name: string;
  run(sb: Sandbox): Promise<void>;
}

const scenarios: Scenario[] = [
  ...Object.entries(plainFiles).map(([name, content]) => ({
    name: `encrypt then decrypt round-trips ${name.split('.')[1]}`,
    async run(sb: Sandbox) {
      const text = await encrypted(sb, name, content);
      expect(text).not.toMatch(CANARY);
      expect(text).toContain('ENC[AES256_GCM,data:');
      const decrypted = await sb.run(['decrypt', name]);
      expect(decrypted.code, decrypted.stderr).toBe(0);
      expect(decrypted.stdout).toBe(content);
    },
  })),
  {
    name: 'set from stdin then get prints the value exactly (one trailing newline dropped, --raw keeps it)',
    async run(sb) {
      await encrypted(sb, 'set.yaml', plainYaml);
      expect((await sb.run(['set', 'set.yaml', 'db.password'], { stdin: 'canary-new-0001\n' })).code).toBe(0);
      expect(await sb.run(['get', 'set.yaml', 'db.password'])).toMatchObject({ code: 0, stdout: 'canary-new-0001' });
      expect((await sb.run(['set', '--raw', 'set.yaml', 'db.password'], { stdin: 'canary-raw-0002\n' })).code).toBe(0);
      expect((await sb.run(['get', 'set.yaml', 'db.password'])).stdout).toBe('canary-raw-0002\n');
      expect((await sb.run(['set', 'set.yaml', 'new.nested.key', '--value', 'canary-value-0003'])).code).toBe(0);
      expect((await sb.run(['get', 'set.yaml', '["new"]["nested"]["key"]'])).stdout).toBe('canary-value-0003');
      expect((await sb.run(['set', 'set.yaml', 'db.port', '--json-value', '--value', '6543'])).code).toBe(0);
      expect(JSON.parse((await sb.run(['get', '--json', 'set.yaml', 'db.port'])).stdout).value).toBe(6543);
      expect(await sb.read('set.yaml')).toMatch(/port: ENC\[AES256_GCM,[^\]]*type:int\]/);
    },
  },
  {
    name: 'set of the same value leaves the file byte-identical',
    async run(sb) {
      const before = await encrypted(sb, 'same.yaml', plainYaml);
      const result = await sb.run(['set', 'same.yaml', 'db.password'], { stdin: 'canary-db-7f3a' });
      expect(result.code, result.stderr).toBe(0);
      expect(await sb.read('same.yaml')).toBe(before);
    },
  },
  {
    name: 'set on a 100-value file changes exactly 3 lines: the value, lastmodified and mac',
    async run(sb) {
      const before = await encrypted(sb, 'hundred.yaml', hundredValues());
      await waitForNextSecond(); // lastmodified has whole seconds; make sure it moves
      expect((await sb.run(['set', 'hundred.yaml', 'service4.key7'], { stdin: 'canary-changed-4-7' })).code).toBe(0);
      const after = await sb.read('hundred.yaml');
      const lines = after.split('\n');
      const changed = changedLines(before, after).map((index) => lines[index]?.trim().split(':')[0]);
      expect(changed).toEqual(['key7', 'lastmodified', 'mac']);
      expect((await sb.run(['get', 'hundred.yaml', 'service4.key7'])).stdout).toBe('canary-changed-4-7');
    },
  },
  {
    name: 'unset of a missing path fails with KEY_NOT_FOUND and leaves the file alone; --if-exists succeeds',
    async run(sb) {
      const before = await encrypted(sb, 'unset.yaml', plainYaml);
      const missing = await sb.run(['unset', '--json', 'unset.yaml', 'db.nope']);
      expect(missing.code).toBe(1);
      expect(jsonError(missing).code).toBe('KEY_NOT_FOUND');
      expect(await sb.run(['unset', '--if-exists', 'unset.yaml', 'db.nope'])).toMatchObject({ code: 0 });
      expect(await sb.read('unset.yaml')).toBe(before);
      expect((await sb.run(['unset', 'unset.yaml', 'api.token'])).code).toBe(0);
      expect(jsonError(await sb.run(['get', '--json', 'unset.yaml', 'api.token'])).code).toBe('KEY_NOT_FOUND');
    },
  },
  {
    name: 'decrypt of a plaintext file fails with NOT_ENCRYPTED',
    async run(sb) {
      await sb.write('plain.yaml', plainYaml);
      const result = await sb.run(['decrypt', '--json', 'plain.yaml']);
      expect(result.code).toBe(1);
      expect(jsonError(result).code).toBe('NOT_ENCRYPTED');
      expect(result.stdout).toBe('');
    },
  },
  {
    name: 'encrypt of an encrypted file fails with ALREADY_ENCRYPTED',
    async run(sb) {
      const before = await encrypted(sb, 'twice.yaml', plainYaml);
      const result = await sb.run(['encrypt', '--json', '--in-place', '--age', sb.recipient, 'twice.yaml']);
      expect(result.code).toBe(1);
      expect(jsonError(result).code).toBe('ALREADY_ENCRYPTED');
      expect(await sb.read('twice.yaml')).toBe(before);
    },
  },
  {
    name: 'a tampered value fails with exit 3',
    async run(sb) {
      const text = await encrypted(sb, 'tamper.yaml', plainYaml);
      const tampered = text.replace(/(password: ENC\[AES256_GCM,data:)(.)/, (_m, prefix: string, char: string) => prefix + (char === 'A' ? 'B' : 'A'));
      expect(tampered).not.toBe(text);
      await sb.write('tamper.yaml', tampered);
      const result = await sb.run(['decrypt', '--json', 'tamper.yaml']);
      expect(result.code).toBe(3);
      expect(jsonError(result).code).toBe('DECRYPTION_FAILED');
      expect(jsonError(result).message).toContain('db');
      expect(result.stdout).toBe('');
    },
  },
  {
    name: 'a MAC mismatch fails with exit 3; --ignore-mac reads the values with a warning',
    async run(sb) {
      const original = await encrypted(sb, 'mac.yaml', plainYaml);
      expect((await sb.run(['set', 'mac.yaml', 'db.password'], { stdin: 'canary-swapped-9999' })).code).toBe(0);
      // The new value line is valid ciphertext under the same data key and path; only the MAC disagrees.
      const newLine = (await sb.read('mac.yaml')).split('\n').find((line) => line.trimStart().startsWith('password:'))!;
      await sb.write('mac.yaml', original.replace(/^ {2}password: .*$/m, newLine));
      const strict = await sb.run(['decrypt', '--json', 'mac.yaml']);
      expect(strict.code).toBe(3);
      expect(jsonError(strict).code).toBe('MAC_MISMATCH');
      expect(strict.stdout).toBe('');
      const ignored = await sb.run(['decrypt', '--ignore-mac', 'mac.yaml']);
      expect(ignored.code).toBe(0);
      expect(ignored.stderr).toMatch(/mac/i);
      expect(ignored.stdout).toContain('canary-swapped-9999');
    },
  },
  {
    name: 'a wrong identity fails with NO_MATCHING_IDENTITY, naming the recipients but no key material',
    async run(sb) {
      await encrypted(sb, 'wrong.yaml', plainYaml);
      expect((await sb.run(['keygen', '-o', 'other-key.txt'])).code).toBe(0);
      const result = await sb.run(['decrypt', '--json', 'wrong.yaml'], { env: { SOPS_AGE_KEY_FILE: sb.path('other-key.txt') } });
      expect(result.code).toBe(1);
      const error = jsonError(result);
      expect(error.code).toBe('NO_MATCHING_IDENTITY');
      expect(error.message).toContain(sb.recipient);
      expect(result.stderr).not.toContain('AGE-SECRET-KEY');
      const text = await sb.run(['decrypt', 'wrong.yaml'], { env: { SOPS_AGE_KEY_FILE: sb.path('other-key.txt') } });
      expect(text.stderr).toContain(sb.recipient);
      expect(text.stderr).not.toContain('AGE-SECRET-KEY');
    },
  },
  {
    name: 'a bad recipient is a usage error (exit 2) and writes nothing',
    async run(sb) {
      await sb.write('bad-recipient.yaml', plainYaml);
      const result = await sb.run(['encrypt', '--json', '--in-place', '--age', 'age1notarecipient', 'bad-recipient.yaml']);
      expect(result.code).toBe(2);
      expect(jsonError(result).code).toBe('INVALID_RECIPIENT');
      expect(await sb.read('bad-recipient.yaml')).toBe(plainYaml);
    },
  },
  {
    name: 'keygen creates a 0600 age key file and refuses to overwrite it',
    async run(sb) {
      const first = await sb.run(['keygen', '-o', 'new-key.txt']);
      expect(first.code).toBe(0);
      expect(first.stderr).toMatch(/^Public key: age1[0-9a-z]{58}$/m);
      expect((await stat(sb.path('new-key.txt'))).mode & 0o777).toBe(0o600);
      const content = await sb.read('new-key.txt');
      expect(content).toMatch(/^# created: .+\n# public key: age1[0-9a-z]{58}\nAGE-SECRET-KEY-1[0-9A-Z]{58}\n$/);
      // The real age CLI reads it as an identity.
      const age = spawnSync('age-keygen', ['-y', sb.path('new-key.txt')], { encoding: 'utf8' });
      expect(age.stdout.trim()).toBe(/age1[0-9a-z]+/.exec(first.stderr)?.[0]);
      const again = await sb.run(['keygen', '--json', '-o', 'new-key.txt']);
      expect(again.code).toBe(1);
      expect(jsonError(again).code).toBe('KEY_FILE_EXISTS');
      expect(await sb.read('new-key.txt')).toBe(content);
    },
  },
  {
    name: "exec passes top-level values as environment variables and returns the child's exit code",
    async run(sb) {
      await encrypted(sb, 'exec.env', plainFiles['round.env']!);
      const script = "require('fs').writeFileSync('exec-out.json', JSON.stringify({ db: process.env.DB_PASSWORD, api: process.env.API_TOKEN }))";
      const result = await sb.run(['exec', 'exec.env', '--', process.execPath, '-e', script]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(await sb.read('exec-out.json'))).toEqual({ db: 'canary-env-a81d', api: 'canary-env-0b44' });
      expect((await sb.run(['exec', 'exec.env', '--', process.execPath, '-e', 'process.exit(42)'])).code).toBe(42);
    },
  },
  {
    name: 'exec-file hands the decrypted file to the child at {}',
    async run(sb) {
      await encrypted(sb, 'exec-file.yaml', plainYaml);
      const result = await sb.run(['exec-file', 'exec-file.yaml', '--', 'sh', '-c', 'cat "$1" > exec-file-out.yaml', 'sh', '{}']);
      expect(result.code, result.stderr).toBe(0);
      expect(await sb.read('exec-file-out.yaml')).toBe(plainYaml);
    },
  },
  {
    name: 'decrypt --extract accepts dotted and bracket key paths',
    async run(sb) {
      await encrypted(sb, 'extract.yaml', plainYaml);
      for (const path of ['db.password', '["db"]["password"]']) {
        expect(await sb.run(['decrypt', '--extract', path, 'extract.yaml'])).toMatchObject({ code: 0, stdout: 'canary-db-7f3a' });
      }
      for (const path of ['api.hosts.1', '["api"]["hosts"][1]']) {
        expect(await sb.run(['decrypt', '--extract', path, 'extract.yaml'])).toMatchObject({ code: 0, stdout: 'b.example.com' });
      }
      expect(jsonError(await sb.run(['decrypt', '--json', '--extract', 'db.nope', 'extract.yaml'])).code).toBe('KEY_NOT_FOUND');
    },
  },
  {
    name: 'get of a nested map prints YAML (JSON with --output-type json)',
    async run(sb) {
      await encrypted(sb, 'nested.yaml', plainYaml);
      expect(await sb.run(['get', 'nested.yaml', 'db'])).toMatchObject({ code: 0, stdout: 'host: db.internal\nport: 5432\npassword: canary-db-7f3a\n' });
      const json = await sb.run(['get', '--output-type', 'json', 'nested.yaml', 'db']);
      expect(JSON.parse(json.stdout)).toEqual({ host: 'db.internal', port: 5432, password: 'canary-db-7f3a' });
    },
  },
  {
    name: 'the file SOPS 3.8.1 wrote decrypts to the values of secret.json',
    async run(sb) {
      const file = new URL('secret.enc.yaml', fixtures).pathname;
      const result = await sb.run(['decrypt', '--output-type', 'json', '--identity', new URL('key.txt', fixtures).pathname, file]);
      expect(result.code, result.stderr).toBe(0);
      const { '0word': _absent, ...expected } = JSON.parse(readFileSync(new URL('secret.json', fixtures), 'utf8'));
      expect(JSON.parse(result.stdout)).toEqual(expected);
    },
  },
];

describe('coffer CLI scenarios', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await createSandbox();
  });
  afterAll(async () => {
    await sb?.dispose();
  });

  for (const scenario of scenarios) {
    it(scenario.name, () => scenario.run(sb));
  }

  it('no stderr of any scenario contains a plaintext canary value', () => {
    const errors = sb.stderrLog.filter((text) => text.includes('"error"') || text.includes('error:'));
    expect(errors.length).toBeGreaterThanOrEqual(10);
    for (const text of sb.stderrLog) expect(text).not.toMatch(CANARY);
  });
});
