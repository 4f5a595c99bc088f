// SSH keys as age recipients and identities through the CLI, with keys made by the real ssh-keygen:
// encrypt for `ssh-ed25519 AAAA...` (flag, SOPS_AGE_RECIPIENTS, .sops.yaml, coffer.yaml), decrypt
// with SOPS_AGE_SSH_PRIVATE_KEY_FILE or ~/.ssh/id_ed25519, mixed recipients, and every way it fails.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { createSandbox, jsonError, runInProcess, type Sandbox } from './sandbox.js';

const plain = 'db:\n    password: canary-ssh-1\napi: canary-ssh-2\n';
const NOT_THERE = { SOPS_AGE_KEY_FILE: undefined };

let sb: Sandbox;
const keys: Record<'ed' | 'rsa' | 'other' | 'locked', { path: string; pub: string }> = {} as never;

function keygen(name: string, ...args: string[]): { path: string; pub: string } {
  const path = sb.path(name);
  execFileSync('ssh-keygen', ['-q', ...args, '-C', `${name}@host`, '-f', path], { stdio: 'ignore' });
  return { path, pub: execFileSync('cat', [`${path}.pub`], { encoding: 'utf8' }).trim() };
}

beforeAll(async () => {
  sb = await createSandbox();
  keys.ed = keygen('id_ed', '-t', 'ed25519', '-N', '');
  keys.rsa = keygen('id_rsa_test', '-t', 'rsa', '-b', '2048', '-N', '');
  keys.other = keygen('id_other', '-t', 'ed25519', '-N', '');
  keys.locked = keygen('id_locked', '-t', 'ed25519', '-N', 'secret words');
});
afterAll(async () => {
  // no run printed a secret value or a private key
  for (const text of sb.stderrLog) {
    expect(text).not.toContain('canary');
    expect(text).not.toContain('PRIVATE KEY');
  }
  await sb.dispose();
});

/** A run in a subdirectory of the sandbox. */
async function inDir(dir: string, argv: string[], env: Record<string, string | undefined> = {}) {
  const result = await runInProcess(argv, sb.path(dir), { ...sb.env, ...env });
  sb.stderrLog.push(result.stderr);
  return result;
}
const sshOnly = (file: string) => ({ ...NOT_THERE, SOPS_AGE_SSH_PRIVATE_KEY_FILE: file });
const ageRecipients = async (name: string) => (parse(await sb.read(name)).sops.age as { recipient: string; enc: string }[]).map((entry) => entry.recipient);

describe('encrypt for an SSH recipient, decrypt with the SSH key', () => {
  test('--age "ssh-ed25519 AAAA... comment": the recipient is stored as given; SOPS_AGE_SSH_PRIVATE_KEY_FILE decrypts', async () => {
    await sb.write('ed.yaml', plain);
    const encrypted = await sb.run(['encrypt', '--in-place', '--age', `  ${keys.ed.pub} `, 'ed.yaml']);
    expect(encrypted.code).toBe(0);
    expect(await ageRecipients('ed.yaml')).toEqual([keys.ed.pub]);
    const decrypted = await sb.run(['decrypt', 'ed.yaml'], { env: sshOnly(keys.ed.path) });
    expect(decrypted.stderr).toBe('');
    expect(decrypted.stdout).toBe(plain);
    // the sandbox's age key is no recipient: it alone cannot
    expect((await sb.run(['decrypt', 'ed.yaml'])).code).toBe(1);
    // the real age CLI opens the data key with the SSH private key
    const enc = (parse(await sb.read('ed.yaml')).sops.age as { enc: string }[])[0]!.enc;
    expect(execFileSync('age', ['-d', '-i', keys.ed.path], { input: enc })).toHaveLength(32);
  });

  test('~/.ssh/id_ed25519 under HOME is found without any variable', async () => {
    await mkdir(sb.path('home/.ssh'), { recursive: true });
    await copyFile(keys.ed.path, sb.path('home/.ssh/id_ed25519'));
    try {
      const decrypted = await sb.run(['decrypt', 'ed.yaml'], { env: NOT_THERE });
      expect(decrypted.code).toBe(0);
      expect(decrypted.stdout).toBe(plain);
    } finally {
      await rm(sb.path('home/.ssh'), { recursive: true, force: true });
    }
  });

  test('mixed age1, ssh-ed25519 and ssh-rsa recipients (SOPS_AGE_RECIPIENTS): each key decrypts alone', async () => {
    await sb.write('mixed.yaml', plain);
    const recipients = [sb.recipient, keys.ed.pub, keys.rsa.pub];
    const encrypted = await sb.run(['encrypt', '--in-place', 'mixed.yaml'], { env: { SOPS_AGE_RECIPIENTS: recipients.join(',') } });
    expect(encrypted.code).toBe(0);
    expect(await ageRecipients('mixed.yaml')).toEqual(recipients);
    for (const env of [{}, sshOnly(keys.ed.path), sshOnly(keys.rsa.path)]) {
      const decrypted = await sb.run(['decrypt', 'mixed.yaml'], { env });
      expect(decrypted.stderr).toBe('');
      expect(decrypted.stdout).toBe(plain);
    }
    // rotate with the RSA key only, removing the ed25519 key by its text
    const rotated = await sb.run(['rotate', '--rm-age', keys.ed.pub, 'mixed.yaml'], { env: sshOnly(keys.rsa.path) });
    expect(rotated.code).toBe(0);
    expect(await ageRecipients('mixed.yaml')).toEqual([sb.recipient, keys.rsa.pub]);
    expect((await sb.run(['decrypt', 'mixed.yaml'], { env: sshOnly(keys.rsa.path) })).stdout).toBe(plain);
    expect((await sb.run(['decrypt', 'mixed.yaml'], { env: sshOnly(keys.ed.path) })).code).toBe(1);
  });

  test('.sops.yaml creation rules and --identity take SSH keys too', async () => {
    await mkdir(sb.path('rules'), { recursive: true });
    await sb.write('rules/.sops.yaml', `creation_rules:\n  - age: >-\n      ${keys.rsa.pub},\n      ${keys.ed.pub}\n`);
    await sb.write('rules/app.yaml', plain);
    const run = (argv: string[], env: Record<string, string | undefined> = {}) => inDir('rules', argv, env);
    const encrypted = await run(['encrypt', '--in-place', 'app.yaml']);
    expect(encrypted.code).toBe(0);
    expect(await ageRecipients('rules/app.yaml')).toEqual([keys.rsa.pub, keys.ed.pub]);
    expect((await run(['decrypt', '--identity', keys.ed.path, 'app.yaml'], NOT_THERE)).stdout).toBe(plain);
  });
});

describe('failures', () => {
  test('a wrong SSH key is NO_MATCHING_IDENTITY listing the sources tried, never key material', async () => {
    const result = await sb.run(['decrypt', '--json', 'ed.yaml'], { env: sshOnly(keys.other.path) });
    expect(result.code).toBe(1);
    const error = jsonError(result);
    expect(error.code).toBe('NO_MATCHING_IDENTITY');
    expect(error['tried']).toEqual([
      'default key file ~/.config/sops/age/keys.txt (not found)',
      `SOPS_AGE_SSH_PRIVATE_KEY_FILE=${keys.other.path} (ssh-ed25519 identity)`,
      '~/.ssh/id_ed25519, ~/.ssh/id_rsa (not found)',
    ]);
    expect(error.message).toContain(keys.ed.pub);
    const privateBody = (await readFile(keys.other.path, 'utf8')).split('\n')[1]!;
    expect(result.stderr).not.toContain(privateBody);
  });

  test('a passphrase-protected SSH key is UNSUPPORTED_KEY_SOURCE saying how to proceed', async () => {
    const result = await sb.run(['decrypt', '--json', 'ed.yaml'], { env: sshOnly(keys.locked.path) });
    expect(result.code).toBe(1);
    const error = jsonError(result);
    expect(error.code).toBe('UNSUPPORTED_KEY_SOURCE');
    expect(error.message).toContain('passphrase-protected');
    expect(error.hints.join('\n')).toMatch(/ssh-keygen -p/);
    expect(error.hints.join('\n')).toMatch(/coffer keygen/);
    // beside a usable key it is only noted
    const mixed = await sb.run(['decrypt', 'mixed.yaml'], { env: { SOPS_AGE_SSH_PRIVATE_KEY_FILE: keys.locked.path } });
    expect(mixed.stdout).toBe(plain);
  });

  const ed = () => keys.ed.pub.split(' ');
  test.each([
    ['bad base64', () => 'ssh-ed25519 AAAA$$$$', /age recipient #2 is not valid: the key data is not valid base64/],
    ['wrong type string', () => `ssh-rsa ${ed()[1]}`, /age recipient #2 is not valid: the key data holds an ssh-ed25519 key, not ssh-rsa/],
    ['truncated', () => `ssh-ed25519 ${ed()[1]!.slice(0, 40)}`, /age recipient #2 is not valid: the key is truncated/],
  ])('a malformed SSH public key (%s) is INVALID_RECIPIENT naming its position, and writes nothing', async (_name, recipient, message) => {
    await sb.write('bad.yaml', plain);
    const result = await sb.run(['encrypt', '--json', '--in-place', '--age', `${sb.recipient},${recipient()}`, 'bad.yaml']);
    expect(result.code).toBe(2);
    const error = jsonError(result);
    expect(error.code).toBe('INVALID_RECIPIENT');
    expect(error.message).toMatch(message);
    expect(await sb.read('bad.yaml')).toBe(plain);
  });

  test('a malformed SSH key in coffer.yaml is a config error naming the recipient and key', async () => {
    await mkdir(sb.path('team'), { recursive: true });
    await sb.write('team/coffer.yaml', `version: 1\nrecipients:\n  alice:\n    age:\n      - ${sb.recipient}\n      - "ssh-rsa ${ed()[1]}"\nenvironments:\n  prod:\n    files: ['*.yaml']\n    readers: [alice]\n`);
    await sb.write('team/app.yaml', plain);
    const result = await inDir('team', ['encrypt', '--json', '--in-place', 'app.yaml']);
    expect(result.code).toBe(2);
    const error = jsonError(result);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('recipients.alice.age: key 2 is not valid: the key data holds an ssh-ed25519 key, not ssh-rsa');
  });

  test('a well-formed SSH key in coffer.yaml encrypts, stored as written', async () => {
    await sb.write('team/coffer.yaml', `version: 1\nrecipients:\n  alice:\n    age:\n      - ${sb.recipient}\n      - "${keys.ed.pub}"\nenvironments:\n  prod:\n    files: ['*.yaml']\n    readers: [alice]\n`);
    const result = await inDir('team', ['encrypt', '--in-place', 'app.yaml']);
    expect(result.code).toBe(0);
    expect(await ageRecipients('team/app.yaml')).toEqual([sb.recipient, keys.ed.pub]);
    expect((await inDir('team', ['decrypt', 'app.yaml'], sshOnly(keys.ed.path))).stdout).toBe(plain);
  });
});
