// The access model end to end in a real temp repository: coffer.yaml with three people and three
// environments, `init`, `access` (with drift), `explain`, `updatekeys --all` and `revoke`.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, jsonError, type Sandbox } from './sandbox.js';

interface Person {
  name: string;
  recipient: string;
  keyFile: string;
}

const plain: Record<string, string> = {
  'secrets/dev/app.yaml': '# dev app\ndb:\n  password: dev-db-canary\n  host: db.dev\napi_token: dev-token-canary\n',
  'secrets/dev/worker.env': 'QUEUE_PASSWORD=dev-queue-canary\n',
  'secrets/staging.yaml': 'db:\n  password: staging-db-canary\n',
  'secrets/prod.yaml': '# prod\ndb:\n  password: prod-db-canary\n  host: db.prod\nstripe_key: prod-stripe-canary\n',
};

function policy(people: Record<string, Person>): string {
  return `# yaml-language-server: $schema=./schemas/coffer.schema.json
# Access policy of the test repo; comments must survive revoke.
version: 1
recipients:
  alice: { age: ${people.alice!.recipient}, email: alice@example.com }  # lead
  bob: { age: [${people.bob!.recipient}], github: bob }
  carol: { age: ${people.carol!.recipient} }
groups:
  developers: [alice, bob]   # everyone who writes code
  operators: [carol, developers]
environments:
  dev:
    files: ["secrets/dev/**"]
    readers: [developers]
  staging:
    files: ["secrets/staging.*"]
    readers: [operators]
    encrypted_regex: "password"
  prod:
    files: ["secrets/prod.yaml"]
    readers: [alice, carol]  # not bob
`;
}

describe('coffer.yaml access model', () => {
  let sb: Sandbox;
  const people: Record<string, Person> = {};

  const decryptAs = (person: Person, file: string) => sb.run(['decrypt', file], { env: { SOPS_AGE_KEY_FILE: sb.path(person.keyFile) } });

  beforeAll(async () => {
    sb = await createSandbox();
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      const result = await sb.run(['keygen', '-o', `${name}.txt`]);
      people[name] = { name, recipient: /age1[0-9a-z]+/.exec(result.stderr)![0], keyFile: `${name}.txt` };
    }
    // alice runs the commands that need a key (updatekeys, revoke)
    sb.env.SOPS_AGE_KEY_FILE = sb.path('alice.txt');
    await sb.write('coffer.yaml', policy(people));
    for (const [file, content] of Object.entries(plain)) {
      await mkdir(dirname(sb.path(file)), { recursive: true });
      await sb.write(file, content);
      const result = await sb.run(['encrypt', '--in-place', file]);
      expect(result.code, result.stderr).toBe(0);
    }
  });
  afterAll(() => sb.dispose());

  it('encrypts each file for its environment and selection rule', async () => {
    for (const file of Object.keys(plain)) {
      const result = await decryptAs(people.alice!, file);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(plain[file]);
    }
    expect((await decryptAs(people.bob!, 'secrets/prod.yaml')).code).toBe(1);
    expect((await decryptAs(people.carol!, 'secrets/dev/app.yaml')).code).toBe(1);
    expect((await decryptAs(people.carol!, 'secrets/staging.yaml')).code).toBe(0);
    // staging's encrypted_regex leaves the host in clear
    expect(await sb.read('secrets/staging.yaml')).toMatch(/encrypted_regex: password/);
  });

  it('access lists readers by name, and --who one person', async () => {
    const result = await sb.run(['access']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/secrets\/prod\.yaml\s+prod\s+alice, carol\s+ok/);
    expect(result.stdout).toMatch(/secrets\/dev\/worker\.env\s+dev\s+alice, bob\s+ok/);
    const json = JSON.parse((await sb.run(['access', '--json'])).stdout);
    expect(json.files.map((row: { path: string }) => row.path)).toEqual(['secrets/dev/app.yaml', 'secrets/dev/worker.env', 'secrets/prod.yaml', 'secrets/staging.yaml']);
    expect(json.drift).toBe(0);
    const who = await sb.run(['access', '--who', 'bob', '--json']);
    expect(JSON.parse(who.stdout).files.map((row: { path: string }) => row.path)).toEqual(['secrets/dev/app.yaml', 'secrets/dev/worker.env', 'secrets/staging.yaml']);
    const unknown = await sb.run(['access', '--who', 'mallory', '--json']);
    expect(unknown.code).toBe(2);
    expect(jsonError(unknown).hints.join(' ')).toContain('alice, bob, carol');
  });

  it('access reports drift both ways, and updatekeys --all fixes it', async () => {
    const before = await sb.read('secrets/staging.yaml');
    // dave is added by hand to one file and carol is missing from it: both are drift
    const forced = await sb.run(['updatekeys', '--age', `${people.alice!.recipient},${people.bob!.recipient},${people.dave!.recipient}`, 'secrets/staging.yaml']);
    expect(forced.code, forced.stderr).toBe(0);
    const drift = JSON.parse((await sb.run(['access', '--json'])).stdout);
    const staging = drift.files.find((row: { path: string }) => row.path === 'secrets/staging.yaml');
    expect(staging.status).toBe('drift');
    expect(staging.notInFile).toEqual(['carol']);
    expect(staging.notInPolicy).toEqual([`${people.dave!.recipient.slice(0, 20)}…`]);
    const table = await sb.run(['access']);
    expect(table.stdout).toMatch(/secrets\/staging\.yaml .*not in policy: age1.*not in file: carol/);
    expect(table.stderr).toContain('1 of 4 files differ');

    const dry = await sb.run(['updatekeys', '--all', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.files.filter((row: { changed: boolean }) => row.changed)).toEqual([
      { file: 'secrets/staging.yaml', changed: true, added: [people.carol!.recipient], removed: [people.dave!.recipient] },
    ]);
    const fixed = await sb.run(['updatekeys', '--all']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).toContain('secrets/staging.yaml: +1 -1 recipients');
    expect(fixed.stderr).toContain('1 of 4 files updated');
    expect(JSON.parse((await sb.run(['access', '--json'])).stdout).drift).toBe(0);
    expect((await decryptAs(people.dave!, 'secrets/staging.yaml')).code).toBe(1);
    expect((await decryptAs(people.carol!, 'secrets/staging.yaml')).stdout).toBe(plain['secrets/staging.yaml']);
    // same data key re-wrapped: every value line is unchanged
    const valueLines = (text: string) => text.split('\n').filter((line) => line.includes('ENC['));
    expect(valueLines(await sb.read('secrets/staging.yaml')).slice(0, 1)).toEqual(valueLines(before).slice(0, 1));
  });

  it('explain names the environment, the glob and the ones tried', async () => {
    const result = await sb.run(['explain', 'secrets/prod.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('environment dev (line 12): secrets/dev/**  -> no match');
    expect(result.stdout).toContain('environment prod (line 19): secrets/prod.yaml  -> MATCH (secrets/prod.yaml)');
    expect(result.stdout).toContain('applies:  environment prod');
    expect(result.stdout).toContain(`alice  ${people.alice!.recipient}`);
    const json = JSON.parse((await sb.run(['explain', '--json', 'secrets/new/thing.yaml'])).stdout);
    expect(json.applies).toBeNull();
    expect(json.problem).toBe('no environment claims this path');
  });

  it('revoke --dry-run changes nothing; revoke rotates what bob could read and keeps the rest byte-identical', async () => {
    const files = Object.keys(plain);
    const before = Object.fromEntries(await Promise.all([...files, 'coffer.yaml'].map(async (file) => [file, await sb.read(file)])));
    const dry = await sb.run(['revoke', 'bob', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.trim().split('\n')).toEqual([
      'secrets/dev/app.yaml: db.password',
      'secrets/dev/app.yaml: db.host',
      'secrets/dev/app.yaml: api_token',
      'secrets/dev/worker.env: QUEUE_PASSWORD',
      'secrets/staging.yaml: db.password',
    ]);
    for (const file of [...files, 'coffer.yaml']) expect(await sb.read(file)).toBe(before[file]);

    const result = await sb.run(['revoke', 'bob', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.files.map((row: { path: string }) => row.path)).toEqual(['secrets/dev/app.yaml', 'secrets/dev/worker.env', 'secrets/staging.yaml']);
    expect(report.policyChanges).toEqual(['recipients: removed bob', 'groups.developers: removed bob']);

    // bob opens no current file; the others open exactly what they should, with the same values
    for (const file of files) expect((await decryptAs(people.bob!, file)).code).toBe(1);
    const expected: Record<string, string[]> = { alice: files, carol: ['secrets/prod.yaml', 'secrets/staging.yaml'] };
    for (const [name, readable] of Object.entries(expected)) {
      for (const file of files) {
        const opened = await decryptAs(people[name]!, file);
        if (readable.includes(file)) expect(opened.stdout, `${name} ${file}`).toBe(plain[file]);
        else expect(opened.code, `${name} ${file}`).toBe(1);
      }
    }
    // prod was never bob's: byte-identical; rotated files keep their layout and comments
    expect(await sb.read('secrets/prod.yaml')).toBe(before['secrets/prod.yaml']);
    // rotated files: the same keys, comments and layout; only the ciphertexts and the metadata differ
    const skeleton = (text: string) => text.slice(0, text.indexOf('\nsops:')).replace(/ENC\[[^\]]*\]/g, 'ENC');
    const app = await sb.read('secrets/dev/app.yaml');
    expect(skeleton(app)).toBe(skeleton(before['secrets/dev/app.yaml']!));
    expect(app).not.toBe(before['secrets/dev/app.yaml']);
    // coffer.yaml: only bob's line and his name in the group changed, comments kept
    const policyAfter = await sb.read('coffer.yaml');
    const policyBefore = before['coffer.yaml']!;
    expect(policyAfter).toBe(policyBefore.replace(/ {2}bob: .*\n/, '').replace('developers: [alice, bob]', 'developers: [alice]'));
    const access = JSON.parse((await sb.run(['access', '--json'])).stdout);
    expect(access.drift).toBe(0);
  });

  it('revoke refuses unknown names and names of groups', async () => {
    const unknown = await sb.run(['revoke', 'zed', '--json']);
    expect(unknown.code).toBe(2);
    expect(jsonError(unknown).message).toContain('no recipient "zed"');
    const group = await sb.run(['revoke', 'operators']);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('"operators" is a group, not a recipient');
  });
});
