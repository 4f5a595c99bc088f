import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encryptDocument } from '../../src/file/secrets-file.js';
import { getStore } from '../../src/format/stores/index.js';
import { clearSecretsCache, loadSecrets } from '../../src/index.js';
import { keyRingFor, makeTestKey, planFor, type TestKey } from '../helpers/keys.js';

let dir: string;
let key: TestKey;
let options: { env: Record<string, string>; cwd: string };

async function writeSecrets(name: string, yaml: string): Promise<void> {
  const text = await encryptDocument(getStore('yaml').parse(yaml, name), name, keyRingFor(key), { plan: planFor(key) });
  await writeFile(join(dir, name), text);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-sdk-'));
  key = await makeTestKey();
  options = { env: { SOPS_AGE_KEY: key.identity, HOME: dir }, cwd: dir };
  clearSecretsCache();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadSecrets', () => {
  it('decrypts into plain objects with JS types, merging files (later wins)', async () => {
    await writeSecrets('base.yaml', 'db:\n    host: h\n    port: 5432\nflag: true\nratio: 0.5\nlist: [a, b]\n');
    await writeSecrets('prod.yaml', 'flag: false\n');
    expect(await loadSecrets(['base.yaml', 'prod.yaml'], options)).toEqual({ db: { host: 'h', port: 5432 }, flag: false, ratio: 0.5, list: ['a', 'b'] });
  });

  it('caches per file, returns copies, reloads a changed file, and writes nothing to disk', async () => {
    await writeSecrets('app.yaml', 'token: one\n');
    const before = await readdir(dir);
    const first = await loadSecrets<{ token: string }>('app.yaml', options);
    first.token = 'mutated';
    expect(await loadSecrets('app.yaml', options)).toEqual({ token: 'one' });
    // same size and mtime would be served from the cache even without a key
    expect(await loadSecrets('app.yaml', { ...options, env: { HOME: dir } })).toEqual({ token: 'one' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeSecrets('app.yaml', 'token: two-longer\n');
    expect(await loadSecrets('app.yaml', options)).toEqual({ token: 'two-longer' });
    expect(await readdir(dir)).toEqual(before);
    await expect(loadSecrets('app.yaml', { ...options, cache: false, env: { HOME: dir } })).rejects.toMatchObject({ code: 'NO_MATCHING_IDENTITY' });
  });

  it('does not remember failures; a missing file is FILE_NOT_FOUND', async () => {
    await writeSecrets('app.yaml', 'token: one\n');
    await expect(loadSecrets('app.yaml', { ...options, env: { HOME: dir } })).rejects.toMatchObject({ code: 'NO_MATCHING_IDENTITY' });
    expect(await loadSecrets('app.yaml', options)).toEqual({ token: 'one' });
    await expect(loadSecrets('missing.yaml', options)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
