// Every import source, then every export format: what comes out equals what went in.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDotenv } from '../../src/import/dotenv.js';
import { createSandbox, type Sandbox } from '../cli/sandbox.js';

const FIXTURES = join(import.meta.dirname, 'fixtures/dotenvx');

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.dispose();
});

const ENV_TEXT = `# database
export DB_PASSWORD="p@ss word"
API_TOKEN=tok_123
PRIVATE_KEY="-----BEGIN KEY-----
abc
-----END KEY-----"
QUOTED='single $x'
`;

function envValues(text: string): Record<string, string> {
  return Object.fromEntries(parseDotenv(text, '.env').entries.map((entry) => [entry.key, entry.value]));
}

async function importFile(source: string, dest: string, extra: string[] = []) {
  const result = await box.run(['import', source, '-o', dest, '--age', box.recipient, ...extra]);
  expect(result.stderr).not.toContain('p@ss');
  expect(result.code, result.stderr).toBe(0);
  return result;
}

async function exportFile(file: string, format: string, extra: string[] = []): Promise<string> {
  const result = await box.run(['export', file, '--format', format, ...extra]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

describe('coffer import then export', () => {
  it('.env -> yaml -> env gives the same values, and the encrypted file holds no plaintext', async () => {
    await box.write('.env', ENV_TEXT);
    const result = await importFile('.env', 'secrets.yaml');
    expect(result.stderr).toContain('importing .env (dotenv) into secrets.yaml: 4 values encrypted');
    expect(result.stderr).toMatch(/ {2}DB_PASSWORD\n {2}API_TOKEN\n {2}PRIVATE_KEY\n {2}QUOTED\n/);
    const encrypted = await box.read('secrets.yaml');
    expect(encrypted).not.toContain('p@ss');
    expect(encrypted).not.toContain('tok_123');
    expect(envValues(await exportFile('secrets.yaml', 'env'))).toEqual(envValues(ENV_TEXT));
    // nothing but the source, the destination and the sandbox's own files
    expect((await readdir(box.dir)).sort()).toEqual(['.env', 'key.txt', 'secrets.yaml']);
  });

  it('.env -> .env store -> env is the same text when the source is in canonical form', async () => {
    const canonical = 'A=1\nB="two words"\nC="multi\\nline"\n';
    await box.write('app.env', canonical);
    await importFile('app.env', 'secrets.env');
    expect(await exportFile('secrets.env', 'env')).toBe(canonical);
  });

  it('yaml -> yaml keeps the text exactly (comments, order, types)', async () => {
    const yaml = '# service\ndb:\n    user: app # who\n    password: hunter2\n    port: 5432\nflags:\n    - a\n    - b\nratio: 0.5\nenabled: true\n';
    await box.write('plain.yaml', yaml);
    await importFile('plain.yaml', 'secrets.yaml');
    expect(await box.read('secrets.yaml')).not.toContain('hunter2');
    expect(await exportFile('secrets.yaml', 'yaml')).toBe(yaml);
    expect(JSON.parse(await exportFile('secrets.yaml', 'json'))).toEqual(parseYaml(yaml));
  });

  it('json -> json keeps the text exactly', async () => {
    const json = '{\n  "db": {\n    "password": "hunter2",\n    "port": 5432\n  },\n  "list": [\n    1,\n    "two",\n    false\n  ]\n}\n';
    await box.write('plain.json', json);
    await importFile('plain.json', 'secrets.json');
    expect(await exportFile('secrets.json', 'json')).toBe(json);
    expect(parseYaml(await exportFile('secrets.json', 'yaml'))).toEqual(JSON.parse(json));
  });

  it('dotenvx file (made by dotenvx 2.38) -> values equal what dotenvx decrypts', async () => {
    await copyFile(join(FIXTURES, '.env'), box.path('.env'));
    await copyFile(join(FIXTURES, '.env.keys'), box.path('.env.keys'));
    const expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8'));
    delete expected.DOTENV_PUBLIC_KEY;
    const result = await importFile('.env', 'secrets.env');
    expect(result.stderr).toContain('(dotenvx)');
    expect(envValues(await exportFile('secrets.env', 'env'))).toEqual(expected);
    // the plaintext the fixture was made from reads the same through the .env grammar, except for
    // the unquoted value with a #, which dotenv (and so dotenvx) ends at the #
    expect(envValues(await readFile(join(FIXTURES, 'plain.env'), 'utf8'))).toEqual(expected);
  });

  it('dotenvx without the private key says where to find it; a wrong key fails', async () => {
    await copyFile(join(FIXTURES, '.env'), box.path('.env'));
    const missing = await box.run(['import', '.env', '-o', 'out.env', '--age', box.recipient, '--json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NO_MATCHING_IDENTITY');
    expect(missing.stderr).toContain('--dotenvx-key-file');
    const wrong = await box.run(['import', '.env', '-o', 'out.env', '--age', box.recipient], {
      env: { DOTENV_PRIVATE_KEY: '1'.repeat(64) },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('does not decrypt');
    expect((await readdir(box.dir)).includes('out.env')).toBe(false);
  });

  it('git-crypt working tree: says which files, imports the unlocked plaintext, refuses a locked one', async () => {
    execFileSync('git', ['init', '-q', box.dir]);
    await box.write('.gitattributes', '*.md text\nsecrets/** filter=git-crypt diff=git-crypt\n');
    await mkdir(box.path('secrets'));
    await box.write('secrets/app.env', 'TOKEN=abc\n');
    await box.write('secrets/locked.env', '\0GITCRYPT\0binary');
    const listed = await box.run(['import', '.']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('secrets/app.env  (.gitattributes:2 secrets/**)');
    expect(listed.stdout).toMatch(/secrets\/locked\.env .*LOCKED/);
    const result = await importFile('secrets/app.env', 'app.enc.env');
    expect(result.stderr).toContain('git-crypt via .gitattributes:2');
    expect(result.stderr).toContain('remove the filter=git-crypt line');
    expect(await exportFile('app.enc.env', 'env')).toBe('TOKEN=abc\n');
    const locked = await box.run(['import', 'secrets/locked.env', '-o', 'x.env', '--age', box.recipient]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('git-crypt unlock');
  });

  it('SOPS file: same data, new data key wrapped only for the new recipients', async () => {
    await box.write('plain.yaml', 'api:\n    token: hunter2\n');
    expect((await box.run(['encrypt', 'plain.yaml', '-o', 'old.yaml', '--age', box.recipient])).code).toBe(0);
    const other = await box.run(['keygen', '-o', 'other.txt']);
    const otherRecipient = /age1[0-9a-z]+/.exec(other.stderr)?.[0] as string;
    const result = await box.run(['import', 'old.yaml', '-o', 'new.yaml', '--age', otherRecipient]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('(sops)');
    const rewrapped = await box.read('new.yaml');
    expect(rewrapped).toContain(otherRecipient);
    expect(rewrapped).not.toContain(box.recipient);
    const exported = await box.run(['export', 'new.yaml', '--format', 'yaml'], { env: { SOPS_AGE_KEY_FILE: box.path('other.txt') } });
    expect(exported.stdout).toBe('api:\n    token: hunter2\n');
  });

  it('--gitignore adds the source; --check-history finds the commit that holds it', async () => {
    execFileSync('git', ['init', '-q', box.dir]);
    await box.write('.env', 'A=1\n');
    execFileSync('git', ['-C', box.dir, 'add', '.env']);
    execFileSync('git', ['-C', box.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'oops']);
    const result = await importFile('.env', 'secrets.env', ['--gitignore', '--check-history']);
    expect(await box.read('.gitignore')).toBe('/.env\n');
    expect(result.stderr).toContain('added .env to .gitignore');
    expect(result.stderr).toMatch(/\.env is in 1 commit/);
    // a second import does not add the line again
    await importFile('.env', 'again.env', ['--gitignore']);
    expect(await box.read('.gitignore')).toBe('/.env\n');
  });

  it('refuses to replace DEST without --force, and --dry-run writes nothing', async () => {
    await box.write('.env', 'A=1\n');
    await box.write('taken.yaml', 'x: 1\n');
    const taken = await box.run(['import', '.env', '-o', 'taken.yaml', '--age', box.recipient]);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('--force');
    const dry = await box.run(['import', '.env', '-o', 'new.yaml', '--age', box.recipient, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ kind: 'dotenv', keyPaths: ['A'], dryRun: true });
    expect((await readdir(box.dir)).includes('new.yaml')).toBe(false);
  });
});

describe('coffer export --format k8s-secret', () => {
  it('base64 data decodes to the file values; stringData and namespace', async () => {
    await box.write('.env', ENV_TEXT);
    await importFile('.env', 'api-prod.yaml');
    const manifest = parseYaml(await exportFile('api-prod.yaml', 'k8s-secret', ['--namespace', 'prod']));
    expect(manifest).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'api-prod', namespace: 'prod' } });
    const decoded = Object.fromEntries(Object.entries(manifest.data as Record<string, string>).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
    expect(decoded).toEqual(envValues(ENV_TEXT));
    const readable = parseYaml(await exportFile('api-prod.yaml', 'k8s-secret', ['--name', 'API_Secret', '--string-data']));
    expect(readable.metadata.name).toBe('api_secret'.replace('_', '-'));
    expect(readable.stringData).toEqual(envValues(ENV_TEXT));
  });

  it('nested data is refused for env and k8s-secret with a hint', async () => {
    await box.write('plain.yaml', 'db:\n    password: hunter2\n');
    await importFile('plain.yaml', 'secrets.yaml');
    for (const format of ['env', 'k8s-secret']) {
      const result = await box.run(['export', 'secrets.yaml', '--format', format]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('db is a map');
      expect(result.stderr).toContain('--format json or yaml');
    }
  });
});
