// `coffer rotate` wraps the new data key for the policy's recipients, so a recipient added to a
// file's metadata behind the policy's back (the MAC does not cover it) never receives the new key.
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from './sandbox.js';

let sandbox: Sandbox;
let mallory: string;

beforeAll(async () => {
  sandbox = await createSandbox();
  const keygen = await sandbox.run(['keygen', '-o', 'mallory.txt']);
  mallory = /age1[0-9a-z]+/.exec(keygen.stderr)?.[0] ?? '';
  await sandbox.write('.sops.yaml', `creation_rules:\n  - path_regex: \\.yaml$\n    age: ${sandbox.recipient}\n`);
  await sandbox.write('app.yaml', 'token: t0ken\n');
  expect((await sandbox.run(['encrypt', '-i', 'app.yaml'])).code).toBe(0);
});
afterAll(() => sandbox.dispose());

const asMallory = { env: { SOPS_AGE_KEY_FILE: 'mallory.txt' } };

describe('rotate', () => {
  it('drops a recipient that was added to the file behind the policy\'s back', async () => {
    // Someone with access wraps the data key for Mallory directly, bypassing the policy.
    const sideDoor = await sandbox.run(['updatekeys', '--age', `${sandbox.recipient},${mallory}`, 'app.yaml']);
    expect(sideDoor.code, sideDoor.stderr).toBe(0);
    expect((await sandbox.run(['get', 'app.yaml', 'token'], asMallory)).stdout).toBe('t0ken');

    const rotated = await sandbox.run(['rotate', 'app.yaml']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stderr).toContain(`- ${mallory} (in the file, not in the policy)`);
    expect(await sandbox.read('app.yaml')).not.toContain(mallory);
    const denied = await sandbox.run(['get', 'app.yaml', 'token', '--json'], asMallory);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('NO_MATCHING_IDENTITY');
    expect((await sandbox.run(['get', 'app.yaml', 'token'])).stdout).toBe('t0ken');
  });

  it('keeps the file\'s own recipients when no policy covers the file, and honours --add-age', async () => {
    await mkdir(sandbox.path('elsewhere'));
    await sandbox.write('elsewhere/app.json', '{"token": "abc"}\n');
    const encrypted = await sandbox.run(['encrypt', '--age', sandbox.recipient, '-i', 'elsewhere/app.json']);
    expect(encrypted.code, encrypted.stderr).toBe(0);
    const rotated = await sandbox.run(['rotate', '--add-age', mallory, 'elsewhere/app.json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect((await sandbox.run(['get', 'elsewhere/app.json', 'token'], asMallory)).stdout).toBe('abc');
    expect((await sandbox.run(['get', 'elsewhere/app.json', 'token'])).stdout).toBe('abc');
  });
});
