// `coffer verify` end to end in a real temp git repository: clean, keyless, a staged plaintext
// secret, a tampered byte, a reader outside the environment, SARIF against the 2.1.0 schema, bad
// schemas and junk input, generation, and the installed pre-commit hook blocking a commit.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredential } from '../../src/schema/generators.js';
import { createSandbox, GIT_IDENTITY, git, type Sandbox } from './sandbox.js';

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
      properties: { password: { type: 'string', minLength: 12, 'x-coffer': { kind: 'password', generate: { length: 32 } } }, port: { type: 'integer' } },
    },
    api_token: { type: 'string', 'x-coffer': { kind: 'api-token', generate: { prefix: 'tok_' } } },
  },
};

describe('coffer verify', () => {
  let sb: Sandbox;
  let other: string;
  const verify = async (args: string[], env: Record<string, string | undefined> = {}) => {
    const result = await sb.run(['verify', '--json', ...args], { env });
    return { ...result, report: result.stdout ? JSON.parse(result.stdout) : undefined };
  };
  const rules = (report: { problems: { rule: string }[] }) => report.problems.map((item) => item.rule);

  beforeAll(async () => {
    sb = await createSandbox();
    other = /age1[0-9a-z]+/.exec((await sb.run(['keygen', '-o', 'other.txt'])).stderr)![0];
    await mkdir(sb.path('secrets/dev'), { recursive: true });
    await mkdir(sb.path('secrets/prod'), { recursive: true });
    await mkdir(sb.path('schemas'), { recursive: true });
    await sb.write('schemas/app.schema.json', JSON.stringify(schema, null, 2));
    await sb.write(
      'coffer.yaml',
      `version: 1\nrecipients:\n  me: { age: ${sb.recipient} }\n  other: { age: ${other} }\nenvironments:\n  dev:\n    files: ["secrets/dev/**"]\n    readers: [me]\n    schema: schemas/app.schema.json\n  prod:\n    files: ["secrets/prod/**"]\n    readers: [me]\n    schema: schemas/app.schema.json\n`,
    );
    await sb.write('secrets/dev/app.yaml', 'db:\n  password: correct-horse-battery-dev\n  port: 5432\n');
    await sb.write('secrets/prod/app.yaml', 'db:\n  password: Zq8#vLp2!mRt6^wXy9&k\n  port: 5432\n');
    for (const file of ['secrets/dev/app.yaml', 'secrets/prod/app.yaml']) expect((await sb.run(['encrypt', '--in-place', file])).code).toBe(0);
    git(sb.dir, 'init', '-q');
    git(sb.dir, 'add', 'coffer.yaml', 'schemas', 'secrets');
    git(sb.dir, 'commit', '-q', '-m', 'init');
  });
  afterAll(() => sb.dispose());

  it('a clean repository passes with and without a key', async () => {
    const keyed = await verify([]);
    expect(keyed.code, keyed.stderr).toBe(0);
    expect(keyed.report.decrypted).toBe(2);
    const keyless = await verify([], { SOPS_AGE_KEY_FILE: sb.path('missing.txt') });
    expect(keyless.code, keyless.stderr).toBe(0);
    expect(keyless.report).toMatchObject({ keyless: true, decrypted: 0, files: 2 });
  });

  it('catches a plaintext secret that is staged, but not one that is only in the working tree', async () => {
    await sb.write('secrets/dev/leak.yaml', 'db:\n  password: plaintext-canary-123\n');
    expect((await verify(['--staged'])).code).toBe(0);
    git(sb.dir, 'add', 'secrets/dev/leak.yaml');
    const staged = await verify(['--staged', '--keyless']);
    expect(staged.code).toBe(3);
    expect(staged.report.problems).toContainEqual(expect.objectContaining({ rule: 'not-encrypted', file: 'secrets/dev/leak.yaml' }));
    const text = await sb.run(['verify', '--staged', '--keyless']);
    expect(text.stderr).toMatch(/secrets\/dev\/leak\.yaml\n {2}error {2}\[not-encrypted\]/);
    expect(text.stderr + text.stdout).not.toContain('plaintext-canary');
    git(sb.dir, 'rm', '-q', '--cached', 'secrets/dev/leak.yaml');
    await sb.run(['encrypt', '--in-place', 'secrets/dev/leak.yaml']);
  });

  it('catches a tampered byte (with a key) and a value left in clear (without)', async () => {
    const original = await sb.read('secrets/dev/app.yaml');
    const tampered = original.replace(/data:(.)/, (_all, char: string) => `data:${char === 'A' ? 'B' : 'A'}`);
    await sb.write('secrets/dev/app.yaml', tampered);
    const result = await verify(['secrets/dev/app.yaml']);
    expect(result.code).toBe(3);
    expect(rules(result.report)).toContain('integrity');
    await sb.write('secrets/dev/app.yaml', original.replace(/port: ENC\[[^\]]*\]/, 'port: 5432'));
    const clear = await verify(['secrets/dev/app.yaml', '--keyless']);
    expect(clear.report.problems).toContainEqual(expect.objectContaining({ rule: 'value-not-encrypted', keyPath: 'db.port', line: 3 }));
    await sb.write('secrets/dev/app.yaml', original);
  });

  it('catches a file readable by someone outside its environment', async () => {
    const before = await sb.read('secrets/prod/app.yaml');
    expect((await sb.run(['updatekeys', '--age', `${sb.recipient},${other}`, 'secrets/prod/app.yaml'])).code).toBe(0);
    const result = await verify(['--keyless']);
    expect(result.code).toBe(3);
    expect(result.report.problems).toContainEqual(expect.objectContaining({ rule: 'recipients', file: 'secrets/prod/app.yaml', message: 'readable by other, outside environment prod' }));
    await sb.write('secrets/prod/app.yaml', before);
  });

  it('reports schema violations, weak and reused passwords in one run', async () => {
    await sb.run(['set', 'secrets/dev/app.yaml', 'db.password', '--value', 'password1']);
    await sb.run(['set', 'secrets/dev/app.yaml', 'extra', '--value', 'x']);
    await sb.run(['set', 'secrets/prod/app.yaml', 'db.password', '--value', 'password1']);
    const result = await verify([]);
    expect(result.code).toBe(3);
    expect(rules(result.report)).toEqual(expect.arrayContaining(['schema', 'weak', 'reused']));
    expect(result.report.problems).toContainEqual(expect.objectContaining({ rule: 'schema', keyPath: 'extra', message: 'extra is not allowed by the schema (unknown key)' }));
    // the reuse is reported where it is: the line of db.password in the second file
    const reused = (result.report.problems as { rule: string; file: string; line?: number }[]).find((item) => item.rule === 'reused')!;
    const lines = (await sb.read(reused.file)).split('\n');
    expect(lines[reused.line! - 1]).toMatch(/^\s*password: ENC\[/);
    expect(result.stdout).not.toContain('password1');
  });

  it('set --generate and generate fill values from the schema without printing them', async () => {
    await sb.run(['unset', 'secrets/dev/app.yaml', 'extra']);
    const set = await sb.run(['set', 'secrets/dev/app.yaml', 'db.password', '--generate']);
    expect(set.code, set.stderr).toBe(0);
    const generate = await sb.run(['generate', 'secrets/dev/app.yaml']);
    expect(generate.code, generate.stderr).toBe(0);
    expect(generate.stderr).toContain('generated api_token (api-token)');
    const token = (await sb.run(['get', 'secrets/dev/app.yaml', 'api_token'])).stdout;
    expect(token).toMatch(/^tok_[A-Za-z0-9]{40}$/);
    expect(set.stdout + set.stderr + generate.stdout + generate.stderr).not.toContain(token);
    expect((await sb.run(['get', 'secrets/dev/app.yaml', 'db.password'])).stdout).toHaveLength(32);
    const noKind = await sb.run(['set', 'secrets/dev/app.yaml', 'db.port', '--generate']);
    expect(noKind.code).toBe(2);
    expect(() => generateCredential('password', { length: 2 })).toThrow(/length 2 is shorter than the 4 character classes/);
    expect(() => generateCredential('rsa-key-pair', { bits: 1000 })).toThrow(/bits must be a whole number from 2048/);
  });

  it('SARIF output validates against the SARIF 2.1.0 schema', async () => {
    const result = await sb.run(['verify', '--format', 'sarif']);
    const sarif = JSON.parse(result.stdout);
    // the schema and its draft-04 validator come from @microsoft/jest-sarif (ajv 6 nested there)
    const require = createRequire(require_resolve('@microsoft/jest-sarif/package.json'));
    const Ajv6 = require('ajv');
    const ajv = new Ajv6({ schemaId: 'auto', allErrors: true });
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json'));
    const sarifSchema = JSON.parse(await readFile(join(require_resolve('@microsoft/jest-sarif/package.json'), '../lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
    const valid = ajv.validate(sarifSchema, sarif);
    expect(ajv.errors ?? [], JSON.stringify(ajv.errors)).toEqual([]);
    expect(valid).toBe(true);
    expect(sarif.runs[0].results.length).toBeGreaterThan(0);
  });

  it('bad schema, missing schema and junk input are clear problems, never a crash', async () => {
    await sb.write('schemas/app.schema.json', JSON.stringify({ ...schema, properties: { db: { type: 'strin' } } }, null, 2));
    const invalid = await verify(['--keyless']);
    expect(invalid.code).toBe(3);
    const problem = invalid.report.problems.find((item: { rule: string }) => item.rule === 'schema-invalid');
    expect(problem, JSON.stringify(problem)).toMatchObject({ file: 'schemas/app.schema.json', line: 10 });
    expect(problem.message).toContain('/properties/db/type');
    await sb.write('schemas/app.schema.json', JSON.stringify(schema));
    await writeFile(sb.path('secrets/dev/junk.yaml'), Buffer.from([0x00, 0xff, 0x3a, 0x0a, 0x5b, 0x7b, 0x22]));
    const config = await sb.read('coffer.yaml');
    await sb.write('coffer.yaml', config.replace('schema: schemas/app.schema.json\n  prod', 'schema: schemas/nope.json\n  prod'));
    const junk = await verify(['--keyless']);
    expect(junk.code).toBe(3);
    expect(junk.report.problems).toContainEqual(expect.objectContaining({ rule: 'unreadable', file: 'secrets/dev/junk.yaml' }));
    expect(junk.report.problems).toContainEqual(expect.objectContaining({ rule: 'schema-invalid', file: 'coffer.yaml', message: 'environment dev: schema schemas/nope.json does not exist' }));
    await sb.write('coffer.yaml', config);
    git(sb.dir, 'rm', '-q', '--cached', '--ignore-unmatch', 'secrets/dev/junk.yaml');
    expect((await sb.run(['verify', '--format', 'xml'])).code).toBe(2);
  });

  it('the installed pre-commit hook blocks a commit with a plaintext secret', async () => {
    const bin = join(import.meta.dirname, '../../bin/coffer.cjs');
    const install = await sb.run(['hook', 'install', '--command', `"${process.execPath}" "${bin}"`]);
    expect(install.code, install.stderr).toBe(0);
    await sb.write('secrets/prod/leak.env', 'TOKEN=plaintext-canary-456\n');
    git(sb.dir, 'add', 'secrets/prod/leak.env');
    const commit = spawnSync('git', ['commit', '-q', '-m', 'leak'], { cwd: sb.dir, encoding: 'utf8', env: { ...sb.env, ...GIT_IDENTITY } });
    expect(commit.status).not.toBe(0);
    expect(commit.stderr).toContain('[not-encrypted]');
    expect(git(sb.dir, 'log', '--oneline')).not.toContain('leak');
    // --keyless: the same block, and the hook never decrypts (a key in the environment is not used)
    const keyless = await sb.run(['hook', 'install', '--keyless', '--command', `"${process.execPath}" "${bin}"`]);
    expect(keyless.code, keyless.stderr).toBe(0);
    expect(keyless.stderr).toContain('verify --staged --keyless');
    expect(await sb.read('.git/hooks/pre-commit')).toMatch(/ verify --staged --keyless\n$/);
    const again = spawnSync('git', ['commit', '-q', '-m', 'leak'], { cwd: sb.dir, encoding: 'utf8', env: { ...sb.env, ...GIT_IDENTITY } });
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain('[not-encrypted]');
    expect(again.stdout + again.stderr).toContain('(keyless, staged)');
    expect(commit.stdout + commit.stderr).toMatch(/files? decrypted/);
    git(sb.dir, 'rm', '-q', '--cached', 'secrets/prod/leak.env');
  });
});

function require_resolve(id: string): string {
  return createRequire(import.meta.url).resolve(id);
}
