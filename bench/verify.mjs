// `node bench/verify.mjs` (after `npm run build`; `npm run bench` runs it too): keyless `coffer
// verify` of a generated 200-file repository (coffer.yaml with four environments and a schema),
// timed side by side with `node -e 0` in the same run. Target: within 2.5x of `node -e 0` for the
// warm run, the pre-commit case (every file unchanged since the last verify: keyless results from
// the cache). Also reported, not targets: one file changed since the last run (the usual commit:
// only that file is checked), a run without the result cache (as after every file
// changed: coffer.yaml parsed and every file checked; the compiled schema still cached) and a cold
// run (--no-cache: nothing cached). Medians of whole-process runs after one warm-up; the runs alternate so machine load
// hits them alike. BENCH_RUNS=N sets the number of runs, BENCH_KEEP=1 keeps the repository.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const coffer = join(root, 'bin', 'coffer.cjs');
const node = process.execPath;
const temp = mkdtempSync(join(tmpdir(), 'coffer-bench-verify-'));
const runs = Number(process.env.BENCH_RUNS ?? 11);
const FILES = 200;
const ENVIRONMENTS = ['dev', 'test', 'staging', 'prod'];

const env = { PATH: process.env.PATH, HOME: join(temp, 'home'), XDG_CONFIG_HOME: join(temp, 'home', '.config'), SOPS_AGE_KEY_FILE: join(temp, 'key.txt') };

function spawn(argv, options = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { env, cwd: join(temp, 'repo'), encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  return result;
}

function time(argv, options) {
  const start = process.hrtime.bigint();
  const result = spawn(argv, options);
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['db', 'api'],
  additionalProperties: false,
  properties: {
    service: { type: 'string' },
    replicas: { type: 'integer' },
    db: {
      type: 'object',
      required: ['host', 'password'],
      additionalProperties: false,
      properties: {
        host: { type: 'string', format: 'hostname' },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        password: { type: 'string', minLength: 16, 'x-coffer': { kind: 'password', rotate: '90d' } },
      },
    },
    api: {
      type: 'object',
      properties: { token: { type: 'string', 'x-coffer': { kind: 'api-token', generate: { prefix: 'tok_' } } }, url: { type: 'string', format: 'uri' } },
    },
  },
};

function main() {
  const repo = join(temp, 'repo');
  mkdirSync(join(repo, 'schemas'), { recursive: true });
  const keygen = spawn([node, coffer, 'keygen', '-o', join(temp, 'key.txt')]);
  const recipient = /age1[0-9a-z]+/.exec(keygen.stderr)?.[0];
  if (!recipient) throw new Error(`keygen failed: ${keygen.stderr}`);
  writeFileSync(join(repo, 'schemas', 'service.schema.json'), JSON.stringify(schema, null, 2));
  const policy = ['version: 1', 'recipients:', `  ci: { age: ${recipient} }`, 'environments:'];
  for (const name of ENVIRONMENTS) policy.push(`  ${name}:`, `    files: ["secrets/${name}/**"]`, '    readers: [ci]', '    schema: schemas/service.schema.json');
  writeFileSync(join(repo, 'coffer.yaml'), `${policy.join('\n')}\n`);
  // one encrypted template per environment, copied: names are not part of the MAC or the AAD
  for (const name of ENVIRONMENTS) {
    mkdirSync(join(repo, 'secrets', name), { recursive: true });
    const template = join(repo, 'secrets', name, 'service-000.yaml');
    writeFileSync(
      template,
      `service: svc\nreplicas: 3\ndb:\n  host: db.${name}.internal\n  port: 5432\n  password: fake-${name}-password-value-123\napi:\n  token: tok_fake_${name}_0123456789abcdef\n  url: https://api.${name}.example.com\n`,
    );
    const encrypted = spawn([node, coffer, 'encrypt', '--in-place', template]);
    if (encrypted.status !== 0) throw new Error(`encrypt failed: ${encrypted.stderr}`);
    for (let index = 1; index < FILES / ENVIRONMENTS.length; index++) copyFileSync(template, join(repo, 'secrets', name, `service-${String(index).padStart(3, '0')}.yaml`));
  }
  const check = spawn([node, coffer, 'verify', '--keyless']);
  if (check.status !== 0) throw new Error(`verify found problems in the generated repo:\n${check.stderr}${check.stdout}`);
  console.log(`coffer verify bench: node ${process.version}, ${FILES} files, median of ${runs} runs after 1 warm-up\n  ${check.stdout.trim()}`);

  // the result cache of a repository outside git: verify-*.json in the user cache directory
  const cacheDir = join(env.HOME, '.cache', 'coffer');
  const dropResults = () => {
    for (const name of readdirSync(cacheDir)) if (/^verify-.*\.json$/.test(name)) rmSync(join(cacheDir, name));
  };
  // the usual pre-commit: one file changed since the last run (one ciphertext character, so the
  // file stays well formed and only its cache entry misses); a different change every round
  const changed = join(repo, 'secrets', 'dev', 'service-005.yaml');
  const original = readFileSync(changed, 'utf8');
  const dataAt = original.indexOf('data:') + 'data:'.length;
  let round = 0;
  const changeOneFile = () => {
    const letter = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[round++ % 52];
    writeFileSync(changed, original.slice(0, dataAt) + letter + original.slice(dataAt + 1));
  };
  const kinds = [
    { name: 'node -e 0', argv: [node, '-e', '0'] },
    { name: 'coffer verify --keyless, warm (target)', argv: [node, coffer, 'verify', '--keyless'] },
    { name: 'coffer verify --keyless, one file changed', argv: [node, coffer, 'verify', '--keyless'], before: changeOneFile },
    { name: 'coffer verify --keyless, no result cache', argv: [node, coffer, 'verify', '--keyless'], before: dropResults },
    { name: 'coffer verify --keyless --no-cache, cold', argv: [node, coffer, 'verify', '--keyless', '--no-cache'] },
  ];
  const times = kinds.map(() => []);
  for (let index = 0; index <= runs; index++) {
    for (const [k, kind] of kinds.entries()) {
      kind.before?.();
      const { ms, result } = time(kind.argv);
      if (result.status !== 0) throw new Error(`${kind.argv.slice(1).join(' ')} failed: ${result.stderr}`);
      if (index > 0) times[k].push(ms);
    }
  }
  const floorMs = median(times[0]);
  for (const [k, kind] of kinds.entries()) {
    const ms = median(times[k]);
    console.log(`  ${`${kind.name}:`.padEnd(48)} ${ms.toFixed(1).padStart(6)} ms  ${k === 0 ? '' : `${(ms / floorMs).toFixed(2)}x`}`);
  }
  writeFileSync(changed, original);
  const warm = median(times[1]) / floorMs;
  const cold = median(times[4]) / floorMs;
  console.log(`  warm ratio: ${warm.toFixed(2)}x (target <= 2.50): ${warm <= 2.5 ? 'met' : 'NOT met'}; cold ratio (--no-cache, no target): ${cold.toFixed(2)}x`);
}

try {
  main();
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${temp}`);
  else rmSync(temp, { recursive: true, force: true });
}
