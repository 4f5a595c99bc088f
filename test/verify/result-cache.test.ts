// The keyless result cache of `coffer verify` on a real temp git repository: a hit gives exactly
// the report a miss gives (clean files and every kind of problem), every key input invalidates,
// expiry and rotation are judged at the run's time from cached facts, a damaged, foreign or
// group-writable cache file is ignored and rebuilt, --no-cache reads and writes nothing, and a
// byte changed after a clean cached run is still reported.
//
// Whether a run used an entry is observed by "poisoning" the cache file: every entry gets a dated
// value `poison` that is long overdue, so a file whose entry was used reports rotation-due at
// key path `poison`, and a file that was checked again does not.
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { type VerifyOptions, verifyRepository } from '../../src/verify/verify.js';
import { createSandbox, git, type Sandbox } from '../cli/sandbox.js';

const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['db'],
  additionalProperties: false,
  properties: {
    db: {
      type: 'object',
      required: ['password'],
      additionalProperties: false,
      properties: { password: { type: 'string', 'x-coffer': { kind: 'password', rotate: '30d' } }, port: { type: 'integer' } },
    },
    api_token: { type: 'string', 'x-coffer': { kind: 'api-token', expires: '2030-01-01' } },
  },
};

const NOW = new Date();
const DAY = 24 * 60 * 60 * 1000;

/** Every file's problems, as one comparable value. */
type Report = Awaited<ReturnType<typeof verifyRepository>>;

describe('the verify result cache', () => {
  let sb: Sandbox;
  let other: string;
  let policyText: string;
  let cacheFile: string;
  const verify = (options: Partial<VerifyOptions> = {}) => verifyRepository({ cwd: sb.dir, env: sb.env, now: NOW, ...options });
  const poisoned = (report: Report) => new Set(report.problems.filter((item) => item.keyPath === 'poison').map((item) => item.file));
  const checkedFiles = (report: Report) => report.files;

  async function poison(): Promise<number> {
    const data = JSON.parse(await readFile(cacheFile, 'utf8'));
    for (const entry of Object.values<Record<string, unknown>>(data.files)) entry['dates'] = { lastModified: '2000-01-01T00:00:00Z', values: [{ keyPath: 'poison', rotate: '1d' }] };
    await writeFile(cacheFile, JSON.stringify(data));
    return Object.keys(data.files).length;
  }

  async function encrypt(file: string, content: string, ...flags: string[]): Promise<string> {
    await sb.write(file, content);
    const result = await sb.run(['encrypt', '--in-place', ...flags, file]);
    expect(result.code, result.stderr).toBe(0);
    return sb.read(file);
  }

  beforeAll(async () => {
    sb = await createSandbox();
    other = /age1[0-9a-z]+/.exec((await sb.run(['keygen', '-o', 'other.txt'])).stderr)![0];
    for (const dir of ['secrets/dev', 'secrets/bad', 'schemas']) await mkdir(sb.path(dir), { recursive: true });
    await sb.write('schemas/app.schema.json', JSON.stringify(schema, null, 2));
    await sb.write('schemas/bad.schema.json', JSON.stringify({ type: 'object', properties: { a: { type: 'strin' } } }));
    policyText = `version: 1\nrecipients:\n  me: { age: ${sb.recipient} }\n  other: { age: ${other} }\nenvironments:\n  dev:\n    files: ["secrets/dev/**"]\n    readers: [me]\n    schema: schemas/app.schema.json\n  bad:\n    files: ["secrets/bad/**"]\n    readers: [me]\n    schema: schemas/bad.schema.json\n`;
    await sb.write('coffer.yaml', policyText);
    const plain = 'db:\n  password: canary-dev-password-1\n  port: 5432\napi_token: tok_canary\n';
    await encrypt('secrets/dev/clean.yaml', plain);
    await encrypt('secrets/dev/app.env', 'TOKEN=canary-env\n');
    await sb.write('secrets/dev/plain.yaml', 'db:\n  password: canary-plaintext\n');
    const encrypted = await encrypt('secrets/dev/clear-value.yaml', plain);
    await sb.write('secrets/dev/clear-value.yaml', encrypted.replace(/port: ENC\[[^\]]*\]/, 'port: 5432'));
    await sb.write('secrets/dev/malformed.yaml', encrypted.replace(/port: ENC\[AES256_GCM,data:[^,]*/, 'port: ENC[AES256_GCM,data:%%'));
    await sb.write('secrets/dev/metadata.yaml', encrypted.replace(/\n\s*lastmodified: [^\n]*/, ''));
    await encrypt('secrets/dev/recipients.yaml', plain, '--age', `${sb.recipient},${other}`);
    await encrypt('secrets/dev/schema.yaml', `${plain}extra: canary-extra\n`);
    await writeFile(sb.path('secrets/dev/junk.yaml'), Buffer.from([0x00, 0xff, 0x3a, 0x0a, 0x5b, 0x7b, 0x22]));
    await encrypt('secrets/unclaimed.yaml', plain, '--age', sb.recipient);
    await encrypt('secrets/bad/x.yaml', 'a: canary-bad\n');
    git(sb.dir, 'init', '-q');
    cacheFile = sb.path('.git/coffer/verify-cache.json');
  });
  afterAll(() => sb.dispose());

  it('a hit gives exactly the report a miss gives, for clean files and every kind of problem', async () => {
    // late enough that expiry and rotation fire too
    const now = new Date('2030-06-01T00:00:00Z');
    const uncached = await verify({ cache: false, now });
    const rules = new Set(uncached.problems.map((item) => item.rule));
    for (const rule of ['not-encrypted', 'value-not-encrypted', 'malformed-value', 'metadata-invalid', 'recipients', 'schema', 'unreadable', 'unmanaged', 'schema-invalid', 'rotation-due', 'expired']) {
      expect(rules, rule).toContain(rule);
    }
    await rm(cacheFile, { force: true });
    const miss = await verify({ now });
    const hit = await verify({ now });
    expect(miss).toEqual(uncached);
    expect(hit).toEqual(uncached);
    // the second run used an entry for every file it checked
    const entries = await poison();
    expect(entries).toBe(checkedFiles(uncached));
    expect(poisoned(await verify()).size).toBe(entries);
  });

  it('a run where every file hits writes nothing and compiles nothing', async () => {
    await verify();
    const before = await stat(cacheFile);
    await rm(sb.path('home/.cache'), { recursive: true, force: true });
    await verify();
    const after = await stat(cacheFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // the compiled-schema cache was not needed, so nothing recreated it
    await expect(stat(sb.path('home/.cache'))).rejects.toThrow();
  });

  it('changing any input of the key misses', async () => {
    await verify();
    const all = await poison();
    // a file's bytes: only that file is checked again
    await writeFile(sb.path('secrets/dev/clean.yaml'), `${await sb.read('secrets/dev/clean.yaml')}# a comment\n`);
    let report = await verify();
    expect(poisoned(report).has('secrets/dev/clean.yaml')).toBe(false);
    expect(poisoned(report).size).toBe(all - 1);

    // the schema's bytes: every file of its environment, no other
    await poison();
    await sb.write('schemas/app.schema.json', `${JSON.stringify(schema, null, 2)}\n`);
    report = await verify();
    expect([...poisoned(report)].sort()).toEqual(['secrets/bad/x.yaml', 'secrets/unclaimed.yaml']);

    // the policy's bytes, even a comment: every file
    await poison();
    await sb.write('coffer.yaml', `${policyText}# comment\n`);
    expect(poisoned(await verify()).size).toBe(0);

    // an environment's recipients: every file, and the answer changes
    await poison();
    await sb.write('coffer.yaml', policyText.replace('readers: [me]\n    schema: schemas/app', 'readers: [me, other]\n    schema: schemas/app'));
    report = await verify();
    expect(poisoned(report).size).toBe(0);
    expect(report.problems).toContainEqual(expect.objectContaining({ rule: 'recipients', file: 'secrets/dev/clean.yaml', message: 'not readable by other, although environment dev lists them' }));
    expect(report).toEqual(await verify({ cache: false }));
    await sb.write('coffer.yaml', policyText);

    // coffer's version (and the cache format): the whole file is ignored
    await verify();
    await poison();
    const data = JSON.parse(await readFile(cacheFile, 'utf8'));
    await writeFile(cacheFile, JSON.stringify({ ...data, version: `${VERSION}-other` }));
    expect(poisoned(await verify()).size).toBe(0);
    await poison();
    await writeFile(cacheFile, JSON.stringify({ ...JSON.parse(await readFile(cacheFile, 'utf8')), format: 0 }));
    expect(poisoned(await verify()).size).toBe(0);
  });

  it('judges expiry and rotation at the time of each run from cached facts', async () => {
    await sb.write('schemas/app.schema.json', JSON.stringify(schema, null, 2));
    await verify();
    const before = await stat(cacheFile);
    const at = (date: Date) => verify({ now: date });
    const expiry = (report: Report) => report.problems.filter((item) => item.file === 'secrets/dev/clean.yaml' && (item.rule === 'expired' || item.rule === 'rotation-due')).map((item) => `${item.rule} ${item.severity} ${item.keyPath}`);
    const times = [new Date(NOW.getTime() + DAY), new Date(NOW.getTime() + 31 * DAY), new Date('2029-12-25T00:00:00Z'), new Date('2030-01-02T00:00:00Z')];
    const seen = [];
    for (const now of times) {
      const cached = await at(now);
      expect(cached).toEqual(await verify({ now, cache: false }));
      seen.push(expiry(cached));
    }
    expect(seen[0]).toEqual([]);
    expect(seen[1]).toEqual(['rotation-due warning db.password']);
    expect(seen[2]).toEqual(expect.arrayContaining(['expired warning api_token', 'rotation-due warning db.password']));
    expect(seen[3]).toEqual(expect.arrayContaining(['expired error api_token']));
    // all of it from the same entries: the cache file was never rewritten
    const after = await stat(cacheFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('ignores a damaged, foreign or group-writable cache file and rebuilds it', async () => {
    const expected = await verify({ cache: false });
    await writeFile(cacheFile, '{"format": 1, "files": {"x": ');
    expect(await verify()).toEqual(expected);
    expect(JSON.parse(await readFile(cacheFile, 'utf8'))).toMatchObject({ format: 1, version: VERSION });

    // entries of the wrong shape, or about another file
    const data = JSON.parse(await readFile(cacheFile, 'utf8'));
    const keys = Object.keys(data.files);
    data.files[keys[0]!] = { problems: 'none', decryptable: true };
    data.files[keys[1]!] = { problems: [{ rule: 'schema', severity: 'error', file: 'elsewhere.yaml', message: 'x' }], decryptable: true };
    data.files[keys[2]!] = { problems: [{ rule: 'no-such-rule', severity: 'error', file: 'x', message: 'x' }], decryptable: true };
    data.files[keys[3]!] = { problems: [], decryptable: true, dates: { lastModified: 5, values: [] } };
    await writeFile(cacheFile, JSON.stringify(data));
    expect(await verify()).toEqual(expected);
    await writeFile(cacheFile, JSON.stringify([1, 2, 3]));
    expect(await verify()).toEqual(expected);

    // writable by others: anyone could have written it
    await verify();
    await poison();
    await chmod(cacheFile, 0o666);
    if (process.platform !== 'win32') expect(poisoned(await verify()).size).toBe(0);
    expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);
  });

  it('--no-cache and COFFER_NO_CACHE=1 read and write nothing', async () => {
    await rm(cacheFile, { force: true });
    await rm(sb.path('home/.cache'), { recursive: true, force: true });
    await verify({ cache: false });
    await verify({ env: { ...sb.env, COFFER_NO_CACHE: '1' } });
    const cli = await sb.run(['verify', '--keyless', '--no-cache']);
    expect(cli.code).toBe(3);
    await expect(stat(cacheFile)).rejects.toThrow();
    await expect(stat(sb.path('home/.cache'))).rejects.toThrow();

    await verify();
    await poison();
    const before = await stat(cacheFile);
    expect(poisoned(await verify({ cache: false })).size).toBe(0);
    expect(poisoned(await verify({ env: { ...sb.env, COFFER_NO_CACHE: '1' } })).size).toBe(0);
    expect((await sb.run(['verify', '--keyless', '--no-cache'])).stdout + (await sb.run(['verify', '--keyless', '--no-cache'])).stderr).not.toContain('poison');
    const after = await stat(cacheFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // COFFER_NO_CACHE=0 means use it
    expect(poisoned(await verify({ env: { ...sb.env, COFFER_NO_CACHE: '0' } })).size).toBeGreaterThan(0);
  });

  it('with a key the keyless half comes from the cache, the keyed checks never do', async () => {
    await rm(cacheFile, { force: true });
    await verify();
    await poison();
    const original = await sb.read('secrets/dev/clean.yaml');
    const keyed = await sb.run(['verify', '--json']);
    const report = JSON.parse(keyed.stdout);
    expect(report.keyless).toBe(false);
    expect(report.decrypted).toBeGreaterThan(0);
    expect(report.problems).toContainEqual(expect.objectContaining({ file: 'secrets/dev/clean.yaml', keyPath: 'poison' }));
    expect(report.problems).not.toContainEqual(expect.objectContaining({ file: 'secrets/dev/clean.yaml', rule: 'integrity' }));

    // a byte changed after that clean cached run: the MAC catches it with a key ...
    await sb.write('secrets/dev/clean.yaml', original.replace(/password: ENC\[AES256_GCM,data:(.)/, (_all, char: string) => `password: ENC[AES256_GCM,data:${char === 'A' ? 'B' : 'A'}`));
    const tampered = JSON.parse((await sb.run(['verify', '--json'])).stdout);
    expect(tampered.problems).toContainEqual(expect.objectContaining({ file: 'secrets/dev/clean.yaml', rule: 'integrity' }));
    // ... and without one a damaged value is still a damaged value
    await sb.write('secrets/dev/clean.yaml', original.replace(/password: ENC\[AES256_GCM,data:/, 'password: ENC[AES256_GCM,dat4:'));
    const keyless = await verify();
    expect(keyless.problems).toContainEqual(expect.objectContaining({ file: 'secrets/dev/clean.yaml', rule: 'malformed-value', keyPath: 'db.password' }));
    await sb.write('secrets/dev/clean.yaml', original);
  });

  it('takes the parsed coffer.yaml from the cache until its text changes, and ignores a damaged one', async () => {
    await sb.write('coffer.yaml', policyText);
    const expected = await verify({ cache: false });
    await rm(cacheFile, { force: true });
    await verify();
    // what the cache says is what verify applies: a cached parse giving "me" another key is believed ...
    const data = JSON.parse(await readFile(cacheFile, 'utf8'));
    expect(data.policy.value.recipients.map((item: { name: string }) => item.name)).toEqual(['me', 'other']);
    data.policy.value.recipients[0].age = [other];
    data.files = {};
    await writeFile(cacheFile, JSON.stringify(data));
    expect((await verify()).problems).toContainEqual(expect.objectContaining({ rule: 'recipients', file: 'secrets/dev/clean.yaml' }));
    // ... until coffer.yaml's bytes change, which parses it again
    await sb.write('coffer.yaml', `${policyText}\n`);
    const reparsed = await verify();
    expect(reparsed.problems).not.toContainEqual(expect.objectContaining({ rule: 'recipients', file: 'secrets/dev/clean.yaml' }));
    await sb.write('coffer.yaml', policyText);
    expect(await verify()).toEqual(expected);
    // a cached parse of the wrong shape is parsed again
    const damaged = JSON.parse(await readFile(cacheFile, 'utf8'));
    damaged.policy.value.recipients = 'me';
    await writeFile(cacheFile, JSON.stringify(damaged));
    expect(await verify()).toEqual(expected);
    expect(JSON.parse(await readFile(cacheFile, 'utf8')).policy.value.recipients).toHaveLength(2);
  });

  it('--staged uses the same entries (keys are content hashes)', async () => {
    git(sb.dir, 'add', '-A');
    await rm(cacheFile, { force: true });
    const worktree = await verify();
    await poison();
    const staged = await verify({ staged: true });
    expect(poisoned(staged).size).toBe(worktree.files);
    git(sb.dir, 'rm', '-q', '-r', '--cached', '.');
  });

  it('lives in the user cache directory outside a git repository, one file per policy directory', async () => {
    const outside = await createSandbox();
    try {
      await mkdir(outside.path('secrets/dev'), { recursive: true });
      await outside.write('coffer.yaml', `version: 1\nrecipients:\n  me: { age: ${outside.recipient} }\nenvironments:\n  dev:\n    files: ["secrets/dev/**"]\n    readers: [me]\n`);
      await outside.write('secrets/dev/a.yaml', 'a: canary-outside\n');
      expect((await outside.run(['encrypt', '--in-place', 'secrets/dev/a.yaml'])).code).toBe(0);
      const env = { ...outside.env, XDG_CACHE_HOME: outside.path('xdg') };
      const report = await verifyRepository({ cwd: outside.dir, env });
      expect(report.problems).toEqual([]);
      const { readdir } = await import('node:fs/promises');
      const names = await readdir(outside.path('xdg/coffer'));
      expect(names.filter((name) => /^verify-[0-9a-f]{16}\.json$/.test(name))).toHaveLength(1);
      expect((await stat(join(outside.path('xdg/coffer'), names.find((name) => name.startsWith('verify-'))!))).mode & 0o777).toBe(0o600);
    } finally {
      await outside.dispose();
    }
  });
});
