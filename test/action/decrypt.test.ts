// Decrypt mode of the bundled Action (action/dist/index.js) as a real child process in a
// runner-like environment: masks before any use, exactly the selected values in outputs, env and
// files, 0600 files in RUNNER_TEMP removed by the post step, all-or-nothing on a wrong identity.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptDocument } from '../../src/file/secrets-file.js';
import { getStore } from '../../src/format/stores/index.js';
import { parseDotenv } from '../../src/import/dotenv.js';
import { createGnupgHome, FIXTURE_PGP_FINGERPRINT, FIXTURE_PGP_KEY } from '../helpers/gnupg.js';
import { keyRingFor, makeTestKey, planFor, type TestKey } from '../helpers/keys.js';
import { createKeyRing } from '../../src/keys/key-ring.js';
import { type ActionRun, createRunnerFiles, firstUnmaskedUse, type RunnerFiles, runAction, unescapeData } from './runner-env.js';

const TLS_KEY = '-----BEGIN TEST KEY-----\nMIIBxyzLINEONEqwertyuiop\nMIIBxyzLINETWOasdfghjklz\n-----END TEST KEY-----\n';
const SECRETS = {
  password: 'pw-Zq9!correct horse battery',
  user: 'app_user_kqzvw',
  token: 'tok_Q7wX"quoted\\slash',
  tlsKey: TLS_KEY,
  port: 98765n,
};
const APP_YAML = [
  'db:',
  `  password: ${JSON.stringify(SECRETS.password)}`,
  `  user: ${SECRETS.user}`,
  '  host_unencrypted: db.example.internal',
  'api:',
  `  token: ${JSON.stringify(SECRETS.token)}`,
  'tls:',
  '  key: |',
  ...TLS_KEY.trimEnd()
    .split('\n')
    .map((line) => `    ${line}`),
  `port: ${SECRETS.port}`,
  'debug: true',
  '',
].join('\n');
const OTHER_SECRET = 'other-file-secret-wxyzq';

let alice: TestKey;
let bob: TestKey;
let workspace: string;

async function writeSecretsFile(path: string, text: string, key: TestKey): Promise<void> {
  const encrypted = await encryptDocument(getStore('yaml').parse(text, path), path, keyRingFor(key), { plan: planFor(key) });
  mkdirSync(dirname(join(workspace, path)), { recursive: true });
  writeFileSync(join(workspace, path), encrypted);
}

/** Every form of a secret the log and files must never show unmasked. */
function formsOf(value: string): string[] {
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), Buffer.from(value).toString('base64')]);
  for (const line of value.split('\n')) if (line.trim().length >= 8) forms.add(line.trim());
  return [...forms];
}

const ALL_FORMS = [SECRETS.password, SECRETS.user, SECRETS.token, SECRETS.tlsKey, OTHER_SECRET].flatMap(formsOf);

function masksOf(run: ActionRun): Set<string> {
  return new Set(run.log.filter((line) => line.startsWith('::add-mask::')).map((line) => unescapeData(line.slice('::add-mask::'.length))));
}

beforeAll(async () => {
  [alice, bob] = await Promise.all([makeTestKey(), makeTestKey()]);
  workspace = mkdtempSync(join(tmpdir(), 'coffer-action-ws-'));
  await writeSecretsFile('secrets/app.yaml', APP_YAML, alice);
  await writeSecretsFile('secrets/other.yaml', `other:\n  secret: ${OTHER_SECRET}\n`, bob);
});

afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
});

describe('decrypt mode', () => {
  let runner: RunnerFiles;
  let run: ActionRun;

  beforeAll(() => {
    runner = createRunnerFiles();
    run = runAction(runner, {
      cwd: workspace,
      inputs: {
        files: 'secrets/app.yaml',
        identity: `# created: 2026-01-01\n# public key: ${alice.recipient}\n${alice.identity}\n`,
        keys: 'db.password=DB_PASSWORD\napi, tls.key\nport',
        'export-to': 'outputs, env, dotenv-file, json-file',
        prefix: 'APP_',
        'fail-on-missing': 'true',
      },
    });
  });
  afterAll(() => runner.remove());

  it('succeeds', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('masks every secret (each line of a multi-line one, its JSON and base64 forms) before any line or file holds it', () => {
    expect(firstUnmaskedUse(run, ALL_FORMS)).toBeUndefined();
    const masks = masksOf(run);
    for (const form of [...formsOf(SECRETS.password), ...formsOf(SECRETS.token), ...formsOf(SECRETS.tlsKey)]) expect(masks).toContain(form);
    // not exported, but encrypted in the file: masked all the same
    expect(masks).toContain(SECRETS.user);
    // and the identity itself, without its public comment lines
    expect(masks).toContain(alice.identity);
    expect([...masks].some((mask) => mask.startsWith('# public key'))).toBe(false);
    // every file write and every plain log line comes after the last mask
    const lastMask = run.events.findLastIndex((event) => event.kind === 'line' && event.text.startsWith('::add-mask::'));
    const firstExport = run.events.findIndex((event) => event.kind === 'write' && !event.path.endsWith('state'));
    expect(firstExport).toBeGreaterThan(lastMask);
  });

  it('is checked by a trace that does catch a value written before its mask', () => {
    const unmasked: ActionRun = { ...run, events: [{ kind: 'write', path: '/x', text: `X=${SECRETS.password}` }, ...run.events] };
    expect(firstUnmaskedUse(unmasked, ALL_FORMS)).toMatch(/write to \/x/);
  });

  it('sets exactly the selected values as outputs, plus the names and file paths', () => {
    const expected = new Map([
      ['APP_DB_PASSWORD', SECRETS.password],
      ['APP_API_TOKEN', SECRETS.token],
      ['APP_TLS_KEY', SECRETS.tlsKey],
      ['APP_PORT', String(SECRETS.port)],
    ]);
    const values = new Map([...run.outputs].filter(([name]) => !['exported', 'dotenv-file', 'json-file'].includes(name)));
    expect(values).toEqual(expected);
    expect(run.outputs.get('exported')).toBe('APP_DB_PASSWORD,APP_API_TOKEN,APP_TLS_KEY,APP_PORT');
    expect(run.exportedEnv).toEqual(expected);
  });

  it('writes 0600 dotenv and JSON files in a private directory of RUNNER_TEMP that parse back to the same values', () => {
    const dotenvFile = run.outputs.get('dotenv-file')!;
    const jsonFile = run.outputs.get('json-file')!;
    for (const file of [dotenvFile, jsonFile]) {
      expect(dirname(dirname(file))).toBe(runner.temp);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
    }
    const dotenv = parseDotenv(readFileSync(dotenvFile, 'utf8'), dotenvFile);
    expect(new Map(dotenv.entries.map((entry) => [entry.key, entry.value]))).toEqual(new Map([...run.exportedEnv]));
    expect(JSON.parse(readFileSync(jsonFile, 'utf8'))).toEqual(Object.fromEntries(run.exportedEnv));
  });

  it('writes a job summary with names and key paths, never values', () => {
    expect(run.summary).toContain('`APP_DB_PASSWORD` | `secrets/app.yaml` | `db.password`');
    for (const form of ALL_FORMS) expect(run.summary).not.toContain(form);
  });

  it('the post step removes the private directory and everything in it', () => {
    const dir = run.state.get('private_dir')!;
    expect(existsSync(join(dir, 'secrets.env'))).toBe(true);
    const post = runAction(runner, { cwd: workspace, inputs: {}, state: run.state });
    expect(post.status).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('decrypt mode failures', () => {
  let runner: RunnerFiles;
  beforeAll(() => {
    runner = createRunnerFiles();
  });
  afterAll(() => runner.remove());

  const freshRun = (inputs: Record<string, string>) => {
    for (const file of [runner.output, runner.env, runner.state, runner.summary]) writeFileSync(file, '');
    return runAction(runner, { cwd: workspace, inputs: { 'export-to': 'outputs,env,dotenv-file,json-file', ...inputs } });
  };

  it('a wrong identity fails with a clear message naming the file, and exports nothing', () => {
    const run = freshRun({ files: 'secrets/app.yaml', identity: bob.identity });
    expect(run.status).toBe(1);
    const error = run.log.find((line) => line.startsWith('::error'));
    expect(error).toContain(`secrets/app.yaml: the identity input (${bob.recipient}) cannot decrypt this file: its data key is wrapped for ${alice.recipient}`);
    expect(run.outputs.size).toBe(0);
    expect(run.exportedEnv.size).toBe(0);
    expect(run.log.filter((line) => !line.startsWith('::add-mask::')).join('\n')).not.toContain(bob.identity.slice(20));
  });

  it('one file the identity cannot open fails the step before any value of the others is exported', () => {
    const run = freshRun({ files: 'secrets/*.yaml', identity: alice.identity });
    expect(run.status).toBe(1);
    expect(run.log.find((line) => line.startsWith('::error'))).toMatch(/secrets\/other\.yaml/);
    expect(run.outputs.size).toBe(0);
    expect(run.exportedEnv.size).toBe(0);
    const dir = run.state.get('private_dir')!;
    expect(existsSync(join(dir, 'secrets.env')) || existsSync(join(dir, 'secrets.json'))).toBe(false);
    // no value reached the log either
    expect(firstUnmaskedUse(run, ALL_FORMS)).toBeUndefined();
  });

  it('a key selector that matches nothing fails (fail-on-missing) and exports nothing; with false it warns', () => {
    const failing = freshRun({ files: 'secrets/app.yaml', identity: alice.identity, keys: 'db.password, db.missing' });
    expect(failing.status).toBe(1);
    expect(failing.log.find((line) => line.startsWith('::error'))).toContain('db.missing');
    expect(failing.outputs.size).toBe(0);
    const warning = freshRun({ files: 'secrets/app.yaml', identity: alice.identity, keys: 'db.password, db.missing', 'fail-on-missing': 'false', 'export-to': 'outputs' });
    expect(warning.status).toBe(0);
    expect(warning.log.some((line) => line.startsWith('::warning') && line.includes('db.missing'))).toBe(true);
    expect(warning.outputs.get('DB_PASSWORD')).toBe(SECRETS.password);
  });

  it('rejects an identity that is no key without echoing it, and bad inputs with the input named', () => {
    const notAKey = freshRun({ files: 'secrets/app.yaml', identity: 'hunter2-not-a-key' });
    expect(notAKey.status).toBe(1);
    expect(notAKey.log.find((line) => line.startsWith('::error'))).toMatch(/identity input is neither/);
    expect(notAKey.log.filter((line) => !line.startsWith('::add-mask::')).join('\n')).not.toContain('hunter2');
    const target = freshRun({ files: 'secrets/app.yaml', identity: alice.identity, 'export-to': 'stdout' });
    expect(target.log.find((line) => line.startsWith('::error'))).toMatch(/export-to: unknown target "stdout"/);
    const twice = freshRun({ files: 'secrets/app.yaml', identity: alice.identity, keys: 'db.password=X, api.token=X' });
    expect(twice.log.find((line) => line.startsWith('::error'))).toMatch(/X would be exported twice/);
    expect(twice.outputs.size).toBe(0);
  });

  it('the post step never removes a directory outside RUNNER_TEMP', () => {
    const outside = mkdtempSync(join(tmpdir(), 'coffer-'));
    try {
      const post = runAction(runner, { cwd: workspace, inputs: {}, state: new Map([['isPost', 'true'], ['private_dir', outside]]) });
      expect(post.status).toBe(0);
      expect(existsSync(outside)).toBe(true);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('decrypt mode with a PGP identity', () => {
  it("imports an armored private key into a temporary keyring, decrypts through the runner's gpg and leaves no keyring behind", async () => {
    const home = await createGnupgHome({ importFixtureKey: true });
    const runner = createRunnerFiles();
    try {
      const path = 'secrets/pgp.yaml';
      const keys = createKeyRing({ env: { ...home.env, SOPS_AGE_KEY: undefined } });
      const encrypted = await encryptDocument(getStore('yaml').parse('deploy:\n  key: pgp-only-secret-mnbvc\n', path), path, keys, {
        plan: { groups: [{ age: [], pgp: [FIXTURE_PGP_FINGERPRINT] }] },
      });
      writeFileSync(join(workspace, path), encrypted);
      const run = runAction(runner, { cwd: workspace, inputs: { files: path, identity: readFileSync(FIXTURE_PGP_KEY, 'utf8'), 'export-to': 'outputs' } });
      expect(run.log.find((line) => line.startsWith('::error'))).toBeUndefined();
      expect(run.status).toBe(0);
      expect(run.outputs.get('DEPLOY_KEY')).toBe('pgp-only-secret-mnbvc');
      expect(firstUnmaskedUse(run, ['pgp-only-secret-mnbvc'])).toBeUndefined();
      expect(existsSync(join(run.state.get('private_dir')!, 'gnupg'))).toBe(false);
    } finally {
      rmSync(join(workspace, 'secrets/pgp.yaml'), { force: true });
      runner.remove();
      await home.remove();
    }
  });
});
