// Plaintext that coffer is asked to write to disk (decrypt -o, decrypt --in-place) is private to the
// user, even when it replaces a file that others could read.
import { chmod, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from './sandbox.js';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await createSandbox();
  await sandbox.write('app.yaml', 'token: canary-mode-1\n');
  expect((await sandbox.run(['encrypt', '--age', sandbox.recipient, '-i', 'app.yaml'])).code).toBe(0);
});
afterAll(() => sandbox.dispose());

const modeOf = async (name: string) => (await stat(sandbox.path(name))).mode & 0o777;

describe('plaintext on disk', () => {
  it('decrypt -o over an existing world-readable file leaves it 0600', async () => {
    await sandbox.write('out.yaml', 'old\n');
    await chmod(sandbox.path('out.yaml'), 0o644);
    expect((await sandbox.run(['decrypt', '-o', 'out.yaml', 'app.yaml'])).code).toBe(0);
    expect(await sandbox.read('out.yaml')).toContain('canary-mode-1');
    expect(await modeOf('out.yaml')).toBe(0o600);
  });

  it('decrypt --in-place makes the file 0600', async () => {
    await chmod(sandbox.path('app.yaml'), 0o644);
    expect((await sandbox.run(['decrypt', '--in-place', 'app.yaml'])).code).toBe(0);
    expect(await sandbox.read('app.yaml')).toContain('canary-mode-1');
    expect(await modeOf('app.yaml')).toBe(0o600);
  });
});
