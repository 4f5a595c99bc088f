// The example app in examples/sdk-app, in a temporary copy that depends on the BUILT package the
// way `"coffer": "file:../.."` does (node_modules/coffer links to the package root): its TypeScript
// is checked against the published dist/index.d.ts and the app decrypts with loadSecrets.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'coffer.cjs');

describe('examples/sdk-app against the built package', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const coffer = (args: string[], input?: string) => execFileSync(process.execPath, [bin, ...args], { cwd: dir, env, input, encoding: 'utf8' });

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'index.d.ts'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    dir = await mkdtemp(join(tmpdir(), 'coffer-sdk-app-'));
    await cp(join(root, 'examples', 'sdk-app'), dir, { recursive: true, filter: (path) => !/[\\/](node_modules|build)$/.test(path) });
    await mkdir(join(dir, 'node_modules'));
    await symlink(root, join(dir, 'node_modules', 'coffer'), 'dir');
    // the type declarations of node come from the main package's dev dependencies
    await mkdir(join(dir, 'node_modules', '@types'));
    await symlink(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
    env = { PATH: process.env.PATH, HOME: dir, SOPS_AGE_KEY_FILE: join(dir, 'key.txt') };
    coffer(['keygen', '-o', 'key.txt']);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('generates its types, type-checks against dist/index.d.ts, and reads the secrets at runtime', async () => {
    const mine = /# public key: (age1[0-9a-z]+)/.exec(await readFile(join(dir, 'key.txt'), 'utf8'))?.[1] as string;
    await mkdir(join(dir, 'secrets'));
    coffer(['encrypt', '--age', mine, '--input-type', 'yaml', '-o', 'secrets/app.yaml', '-'], 'database:\n    url: postgres://db/app\n    password: correct-horse\n    pool: 12\nstripe_key: sk_test_1234567890\n');
    coffer(['types', '--schema', 'schemas/app.schema.json', '-o', 'src/secrets.d.ts']);
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const run = spawnSync(process.execPath, ['build/app.js', 'secrets/app.yaml'], { cwd: dir, env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ database: 'postgres://db/app', pool: 12, passwordLength: 13, stripeKeyPrefix: 'sk_test_', sameValues: true });
    // no plaintext left anywhere in the app's directory
    const grep = spawnSync('grep', ['-rl', 'correct-horse', '.', '--exclude-dir=node_modules'], { cwd: dir, encoding: 'utf8' });
    expect(grep.stdout).toBe('');
  });

  it('a type error in the app is caught by the generated types', async () => {
    await cp(join(dir, 'src', 'app.ts'), join(dir, 'src', 'wrong.ts'));
    execFileSync('sed', ['-i', 's/secrets.stripe_key.slice/secrets.stripeKey.slice/', join(dir, 'src', 'wrong.ts')]);
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    expect(tsc.status).not.toBe(0);
    expect(tsc.stdout).toContain("Property 'stripeKey' does not exist");
    await rm(join(dir, 'src', 'wrong.ts'));
  });
});
