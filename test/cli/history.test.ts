// The history commands on a scripted repository: log (table, --json, --ndjson, filters), blame,
// status against schema rules, audit --verify and --anomalies, report.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyRingFor, makeTestKey, type TestKey } from '../helpers/keys.js';
import { createTestRepo, SecretsWriter, type TestRepo } from '../git/repo.js';
import { runInProcess } from './sandbox.js';

const policy = (alice: TestKey, bob: TestKey, mallory: TestKey, devReaders: string) => `version: 1
recipients:
  alice: { age: ${alice.recipient}, email: alice@example.com }
  bob: { age: ${bob.recipient}, email: bob@example.com }
  mallory: { age: ${mallory.recipient}, email: mallory@example.com }
environments:
  prod:
    files: [secrets/prod.yaml]
    readers: [alice, bob]
    schema: schemas/prod.json
  dev:
    files: ['secrets/dev*.yaml']
    readers: [${devReaders}]
`;

const schema = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    db: { type: 'string', 'x-coffer': { rotate: '30d' } },
    api: { type: 'string', 'x-coffer': { expires: '2099-01-01' } },
    old: { type: 'string', 'x-coffer': { expires: '2024-01-01' } },
    soon: { type: 'string', 'x-coffer': { rotate: '100y' } },
  },
});

describe('history commands', () => {
  let repo: TestRepo;
  let env: Record<string, string | undefined>;
  let keylessEnv: Record<string, string | undefined>;
  const commits: Record<string, string> = {};
  const run = (argv: string[], useKey = true) => runInProcess(argv, repo.dir, useKey ? env : keylessEnv);

  beforeAll(async () => {
    const [alice, bob, mallory, stranger] = await Promise.all([makeTestKey(), makeTestKey(), makeTestKey(), makeTestKey()]);
    const writer = new SecretsWriter(keyRingFor(alice, bob));
    const prod1 = await writer.encrypt('secrets/prod.yaml', 'db: p1\napi: k1\nold: o1\n', [alice, bob]);
    const dev1 = await writer.encrypt('secrets/dev.yaml', 'x: 1\n', [alice, bob, mallory]);
    const prod2 = await writer.edit('secrets/prod.yaml', prod1, { db: 'p2' });
    const dev2 = await writer.edit('secrets/dev.yaml', dev1, { x: '2' });
    const dev3 = await writer.setRecipients('secrets/dev.yaml', dev2, [alice, bob, mallory, stranger]);
    const prod3 = await writer.setRecipients('secrets/prod.yaml', prod2, [alice, bob, mallory]);
    const dev4 = await writer.setRecipients('secrets/dev.yaml', dev3, [alice, bob]);
    const tampered = prod3.replace(/lastmodified: .*/, 'lastmodified: "2020-01-01T00:00:00Z"');
    repo = await createTestRepo();
    const at = (name: string, spec: Parameters<TestRepo['commit']>[0]) => {
      commits[name] = repo.commit(spec);
    };
    at('init', {
      author: 'Alice <alice@example.com>',
      date: '2024-01-08T10:00:00Z',
      files: { 'coffer.yaml': policy(alice, bob, mallory, 'alice, bob, mallory'), 'schemas/prod.json': schema, 'secrets/prod.yaml': prod1, 'secrets/dev.yaml': dev1 },
    });
    at('carol', { author: 'Carol <carol@example.com>', date: '2024-01-09T11:00:00Z', files: { 'secrets/prod.yaml': prod2 } });
    at('night', { author: 'Bob <bob@example.com>', date: '2024-01-13T03:00:00Z', files: { 'secrets/dev.yaml': dev2 } });
    at('stranger', { author: 'Alice <alice@example.com>', date: '2024-01-15T10:00:00Z', files: { 'secrets/dev.yaml': dev3 } });
    at('mallory', { author: 'Alice <alice@example.com>', date: '2024-01-16T10:00:00Z', files: { 'secrets/prod.yaml': prod3 } });
    at('revoke', { author: 'Alice <alice@example.com>', date: '2024-01-17T10:00:00Z', files: { 'coffer.yaml': policy(alice, bob, mallory, 'alice, bob'), 'secrets/dev.yaml': dev4 } });
    at('leak', { author: 'Bob <bob@example.com>', date: '2024-01-18T10:00:00Z', files: { 'secrets/dev-leak.yaml': 'password: hunter2\n' } });
    at('tamper', { author: 'Bob <bob@example.com>', date: '2024-01-19T10:00:00Z', files: { 'secrets/prod.yaml': tampered } });
    at('restore', { author: 'Bob <bob@example.com>', date: '2024-01-19T11:00:00Z', files: { 'secrets/prod.yaml': prod3, 'secrets/dev-leak.yaml': null } });
    const home = `${repo.dir}/.home`;
    keylessEnv = { PATH: process.env.PATH, HOME: home };
    env = { ...keylessEnv, SOPS_AGE_KEY: alice.identity };
  });
  afterAll(() => repo?.dispose());

  it('log prints a table, filters, and writes parseable ndjson', async () => {
    const table = await run(['log', 'secrets/prod.yaml', 'db', '--no-decrypt']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^DATE\s+COMMIT\s+AUTHOR\s+FILE\s+KEY\s+EVENT/);
    // the tampered lastmodified and its restore change no value and no recipient: no event (audit --verify finds it)
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/).slice(2, 6))).toEqual([
      ['Alice', 'secrets/prod.yaml', '*', 'recipients changed'],
      ['Carol', 'secrets/prod.yaml', 'db', 'changed'],
      ['Alice', 'secrets/prod.yaml', 'db', 'added'],
    ]);
    const ndjson = await run(['log', '--ndjson', '--env', 'dev', '--author', 'bob']);
    const events = ndjson.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(events.map((event) => [event.file, event.keyPath, event.event])).toEqual([
      ['secrets/dev-leak.yaml', null, 'not encrypted'],
      ['secrets/dev.yaml', 'x', 'changed'],
    ]);
    const json = JSON.parse((await run(['log', '--json', '--since', '2024-01-16', '--until', '2024-01-17T23:00:00Z', '--path', 'x'])).stdout);
    expect(json.events.map((event: { file: string; event: string }) => [event.file, event.event])).toEqual([
      ['secrets/dev.yaml', 'recipients changed'],
      ['secrets/prod.yaml', 'recipients changed'],
    ]);
  });

  it('blame gives each key its last change and age', async () => {
    const result = JSON.parse((await run(['blame', 'secrets/prod.yaml', '--json'])).stdout);
    expect(result.keys.map((row: { keyPath: string; commit: string; author: string }) => [row.keyPath, row.commit, row.author])).toEqual([
      ['db', commits['carol'], 'Carol'],
      ['api', commits['init'], 'Alice'],
      ['old', commits['init'], 'Alice'],
    ]);
    // without a key: the file's stored answer, the same on the first and the second run
    const keylessBlame = async () => JSON.parse((await run(['blame', 'secrets/prod.yaml', '--json'], false)).stdout);
    const first = await keylessBlame();
    expect(readdirSync(join(repo.dir, '.git', 'coffer', 'answers')).length).toBeGreaterThan(0);
    expect(await keylessBlame()).toEqual(first);
    expect(first.keys.map((row: { keyPath: string; commit: string }) => [row.keyPath, row.commit])).toEqual(result.keys.map((row: { keyPath: string; commit: string }) => [row.keyPath, row.commit]));
    const missing = await run(['blame', 'secrets/nothing.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not an encrypted file committed at HEAD');
  });

  it('status rates each secret against rotate and expires', async () => {
    const result = await run(['status', '--json', '--window', '14d']);
    expect(result.code).toBe(3);
    const rows = JSON.parse(result.stdout).secrets.map((row: { file: string; keyPath: string; state: string }) => [row.keyPath, row.state]);
    expect(rows).toEqual([
      ['db', 'overdue'],
      ['api', 'ok'],
      ['old', 'expired'],
    ]);
    const all = JSON.parse((await run(['status', '--json', '--all'])).stdout).secrets;
    expect(all.find((row: { file: string }) => row.file === 'secrets/dev.yaml')).toMatchObject({ keyPath: 'x', state: 'no rule' });
  });

  it('audit --verify finds the plaintext commit, the tampered version and the recipient the policy did not allow', async () => {
    const result = await run(['audit', '--verify', '--json']);
    expect(result.code).toBe(0 + 3);
    const findings = JSON.parse(result.stdout).findings.map((finding: { kind: string; commit: string; file: string; recipients?: string[] }) => [finding.kind, finding.commit, finding.file, finding.recipients]);
    expect(findings).toEqual([
      ['recipient without policy', commits['mallory'], 'secrets/prod.yaml', ['mallory']],
      ['plaintext commit', commits['leak'], 'secrets/dev-leak.yaml', undefined],
      ['mac failure', commits['tamper'], 'secrets/prod.yaml', undefined],
    ]);
    const keyless = JSON.parse((await run(['audit', '--verify', '--json'], false)).stdout);
    expect(keyless.findings.map((finding: { kind: string }) => finding.kind)).not.toContain('mac failure');
  });

  it('audit --anomalies finds each kind of anomaly', async () => {
    const result = await run(['audit', '--anomalies', '--json', '--window', 'Mon-Fri 08:00-18:00', '--mass', '3']);
    expect(result.code).toBe(3);
    const findings = JSON.parse(result.stdout).findings.map((finding: { kind: string; commit: string; recipients?: string[]; keyPaths?: string[] }) => [finding.kind, finding.commit, finding.keyPaths ?? finding.recipients]);
    expect(findings).toEqual([
      ['mass change', commits['init'], undefined],
      ['production change by non-reader', commits['carol'], ['db']],
      ['change outside window', commits['night'], undefined],
      ['recipient added directly', commits['stranger'], expect.any(Array)],
      ['revoked reader, not rotated', commits['revoke'], ['x']],
      ['revoked reader, not rotated', commits['revoke'], ['x']],
    ]);
    const revoked = JSON.parse(result.stdout).findings.filter((finding: { kind: string }) => finding.kind === 'revoked reader, not rotated');
    // mallory by name; the stranger's key, which no recipient owns, as the key itself
    expect(revoked.map((finding: { recipients: string[] }) => finding.recipients[0])).toContain('mallory');
    expect(revoked.map((finding: { recipients: string[] }) => finding.recipients[0])).toContainEqual(expect.stringMatching(/^age1/));
  });

  it('report writes Markdown and HTML with every section', async () => {
    const markdown = await run(['report', '--since', '2024-01-01', '-o', 'report.md']);
    expect(markdown.code).toBe(0);
    const text = readFileSync(`${repo.dir}/report.md`, 'utf8');
    for (const heading of ['# Secrets access and change report', '## Who can read what', '## Changes since 2024-01-01', '## Rotation status', '## Open anomalies']) expect(text).toContain(heading);
    expect(text).toMatch(/\| secrets\/prod\.yaml \| prod \| alice, bob, mallory \| drift/);
    expect(text).toContain('| secrets/prod.yaml | db |');
    expect(text).toContain('production change by non-reader');
    expect(text).not.toContain('hunter2');
    const html = await run(['report', '--since', '2024-01-15', '--format', 'html']);
    expect(html.stdout).toMatch(/^<!doctype html>/);
    expect(html.stdout).toContain('<h2>Changes since 2024-01-15</h2>');
    expect(html.stdout).not.toContain('Carol &lt;carol@example.com&gt;');
  });

  it('outside a git repository: a usage error', async () => {
    const result = await runInProcess(['log'], '/', env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not inside a git repository');
  });
});
