// Key groups with a threshold and PGP recipients, driven by coffer.yaml through the CLI, with the
// real gpg in a throwaway GNUPGHOME.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGnupgHome, FIXTURE_PGP_FINGERPRINT, type GnupgHome } from '../helpers/gnupg.js';
import { createSandbox, jsonError, type Sandbox } from './sandbox.js';

const PGP_FIXTURES = join(import.meta.dirname, '../fixtures/sops/pgp');

async function keygen(sb: Sandbox, name: string): Promise<string> {
  const result = await sb.run(['keygen', '-o', `${name}.txt`]);
  return /age1[0-9a-z]+/.exec(result.stderr)![0];
}

describe('Shamir key groups from coffer.yaml', () => {
  let sb: Sandbox;
  const secret = 'db:\n  password: shamir-canary\n';

  beforeAll(async () => {
    sb = await createSandbox();
    const keys: Record<string, string> = {};
    for (const name of ['alice', 'bob', 'carol']) keys[name] = await keygen(sb, name);
    await sb.write(
      'coffer.yaml',
      `version: 1
recipients:
  alice: { age: ${keys.alice} }
  bob: { age: ${keys.bob} }
  carol: { age: ${keys.carol} }
environments:
  prod:
    files: ["prod.yaml"]
    key_groups: [[alice], [bob], [carol]]
    shamir_threshold: 2
`,
    );
    await sb.write('prod.yaml', secret);
    const result = await sb.run(['encrypt', '--in-place', 'prod.yaml']);
    expect(result.code, result.stderr).toBe(0);
  });
  afterAll(() => sb.dispose());

  const withKeys = async (...names: string[]) => {
    const text = (await Promise.all(names.map((name) => sb.read(`${name}.txt`)))).join('\n');
    return sb.run(['decrypt', 'prod.yaml', '--output-type', 'json', '--json'], { env: { SOPS_AGE_KEY_FILE: undefined, SOPS_AGE_KEY: text } });
  };

  it('writes three key groups and threshold 2 in the SOPS layout', async () => {
    const text = await sb.read('prod.yaml');
    expect(text.match(/recipient: age1/g), text).toHaveLength(3);
    expect(text).toMatch(/^ {2}key_groups:$/m);
    expect(text).toMatch(/^ {2}shamir_threshold: 2$/m);
  });

  it('decrypts with any two groups', async () => {
    for (const pair of [['alice', 'bob'], ['alice', 'carol'], ['bob', 'carol']]) {
      const result = await withKeys(...pair);
      expect(result.code, `${pair}: ${result.stderr}`).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ db: { password: 'shamir-canary' } });
    }
  });

  it('fails with one group and names the groups still missing', async () => {
    const result = await withKeys('bob');
    expect(result.code).toBe(1);
    const error = jsonError(result);
    expect(error.code).toBe('NO_MATCHING_IDENTITY');
    expect(error.message).toBe(
      'prod.yaml: the data key is split into 3 key groups and 2 are needed; your keys open key group 2; 1 more needed from: key group 1 (alice); key group 3 (carol)',
    );
    expect(error.openedGroups).toEqual([2]);
    expect(error.missingGroups).toEqual([1, 3]);
    expect(error.hints[0]).toContain('one of the missing key groups');
    const none = jsonError(await sb.run(['decrypt', 'prod.yaml', '--json']));
    expect(none.message).toContain('your keys open none of them; 2 more needed from: key group 1 (alice); key group 2 (bob); key group 3 (carol)');
  });

  it('explain shows the groups and the threshold', async () => {
    const result = await sb.run(['explain', 'prod.yaml']);
    expect(result.stdout).toContain('recipients (3 key groups, 2 needed to decrypt):');
    expect(result.stdout).toMatch(/group 3: carol {2}age1/);
    const access = JSON.parse((await sb.run(['access', '--json'])).stdout);
    expect(access.files[0]).toMatchObject({ path: 'prod.yaml', keyGroups: [['alice'], ['bob'], ['carol']], threshold: 2, status: 'ok' });
  });
});

describe('PGP recipients through the user gpg', () => {
  let sb: Sandbox;
  let gnupg: GnupgHome;
  let emptyHome: string;

  beforeAll(async () => {
    sb = await createSandbox();
    gnupg = await createGnupgHome({ importFixtureKey: true });
    emptyHome = await mkdtemp(join(tmpdir(), 'coffer-gnupg-empty-'));
    sb.env.GNUPGHOME = gnupg.dir;
    await keygen(sb, 'other');
  });
  afterAll(async () => {
    await gnupg.remove();
    await rm(emptyHome, { recursive: true, force: true });
    await sb.dispose();
  });

  it('decrypts every PGP fixture written by SOPS', async () => {
    for (const name of ['format.enc.yaml', 'format.enc.ini', 'format-2.enc.ini']) {
      await copyFile(join(PGP_FIXTURES, name), sb.path(name));
      const result = await sb.run(['decrypt', name]);
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      const expected = await readFile(join(PGP_FIXTURES, name.endsWith('.yaml') ? 'format.yaml' : 'format.ini'), 'utf8');
      expect(result.stdout.trim(), name).toBe(expected.trim());
    }
  });

  it('a file for an age key and a PGP key (from coffer.yaml) opens with either', async () => {
    await sb.write(
      'coffer.yaml',
      `version: 1
recipients:
  dana: { pgp: ["${FIXTURE_PGP_FINGERPRINT.replace(/(.{4})/g, '$1 ').trim()}"] }
  erin: { age: ${sb.recipient} }
environments:
  ops:
    files: ["ops.yaml"]
    readers: [dana, erin]
`,
    );
    await sb.write('ops.yaml', 'token: pgp-and-age-canary\n');
    const encrypted = await sb.run(['encrypt', '--in-place', 'ops.yaml']);
    expect(encrypted.code, encrypted.stderr).toBe(0);
    const text = await sb.read('ops.yaml');
    expect(text).toContain(`fp: ${FIXTURE_PGP_FINGERPRINT}`);
    expect(text).toContain(`recipient: ${sb.recipient}`);
    // gpg only: the age key file is not there
    const viaPgp = await sb.run(['decrypt', 'ops.yaml'], { env: { SOPS_AGE_KEY_FILE: sb.path('other.txt') } });
    expect(viaPgp.code, viaPgp.stderr).toBe(0);
    expect(viaPgp.stdout).toBe('token: pgp-and-age-canary\n');
    // age only: a keyring without the secret key
    const viaAge = await sb.run(['decrypt', 'ops.yaml'], { env: { GNUPGHOME: emptyHome } });
    expect(viaAge.stdout).toBe('token: pgp-and-age-canary\n');
    const access = JSON.parse((await sb.run(['access', '--json'])).stdout);
    expect(access.files.find((row: { path: string }) => row.path === 'ops.yaml')).toMatchObject({ readers: ['erin', 'dana'], status: 'ok' });
    expect(access.files.find((row: { path: string }) => row.path === 'format.enc.yaml')).toMatchObject({ environment: null, readers: ['dana'], status: 'unmanaged' });
  });

  it('gpg missing: a clear error with a hint', async () => {
    const result = await sb.run(['decrypt', 'ops.yaml', '--json'], { env: { SOPS_AGE_KEY_FILE: sb.path('other.txt'), SOPS_GPG_EXEC: '/nonexistent/gpg' } });
    expect(result.code).toBe(1);
    const error = jsonError(result);
    expect(error.code).toBe('KEY_SOURCE_FAILED');
    expect(error.message).toContain('/nonexistent/gpg was not found');
    expect(error.hints.join(' ')).toContain('install GnuPG');
  });
});
