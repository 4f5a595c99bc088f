// `node bench/rotate.mjs`: `coffer rotate --due --dry-run` over a repository of 200 secrets files
// (10 values each, 3 with rotate/expires rules in the schema, two commits of history). Bundles the
// CLI from src into a temp dir (no build needed). Prints the median of whole-process runs after one
// warm-up, beside `coffer status` (the same history walk without the plan) and `node -e 0`.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCli } from '../scripts/bundle.mjs';
import { median } from './stats.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const temp = mkdtempSync(join(tmpdir(), 'coffer-bench-rotate-'));
const FILES = Number(process.env.BENCH_FILES ?? 200);
const runs = Number(process.env.BENCH_RUNS ?? 7);
const node = process.execPath;
const repo = join(temp, 'repo');
const home = join(temp, 'home');
const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', SOPS_AGE_KEY_FILE: join(home, 'key.txt') };

function run(argv, extraEnv = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { cwd: repo, env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0 && result.status !== 3) throw new Error(`${argv.join(' ')} failed (${result.status}): ${result.stderr}`);
  return { ms, stdout: result.stdout };
}

function commitAll(message, daysAgo) {
  const date = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
  const gitEnv = { ...env, GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com', GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  execFileSync('git', ['add', '-A'], { cwd: repo, env: gitEnv });
  execFileSync('git', ['commit', '-q', '-m', message], { cwd: repo, env: gitEnv });
}

async function main() {
  mkdirSync(join(repo, 'secrets'), { recursive: true });
  mkdirSync(join(repo, 'schemas'));
  mkdirSync(home, { recursive: true });
  // the package's layout: bin/coffer.cjs loads ../dist/cli/coffer.js
  await bundleCli(join(temp, 'package', 'dist', 'cli'));
  mkdirSync(join(temp, 'package', 'bin'));
  copyFileSync(join(root, 'bin', 'coffer.cjs'), join(temp, 'package', 'bin', 'coffer.cjs'));
  const coffer = join(temp, 'package', 'bin', 'coffer.cjs');
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo, env });
  const keygen = run([node, coffer, 'keygen', '-o', join(home, 'key.txt'), '--json']);
  const { publicKey } = JSON.parse(keygen.stdout);
  writeFileSync(join(repo, 'coffer.yaml'), `version: 1\nrecipients:\n  me: { age: ${publicKey} }\nenvironments:\n  prod:\n    files: ["secrets/prod-*.yaml"]\n    readers: [me]\n    schema: schemas/app.schema.json\n  dev:\n    files: ["secrets/dev-*.yaml"]\n    readers: [me]\n    schema: schemas/app.schema.json\n`);
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      db: { type: 'object', properties: { password: { type: 'string', 'x-coffer': { kind: 'password', rotate: '90d' } } } },
      api: { type: 'object', properties: { token: { type: 'string', 'x-coffer': { kind: 'opaque', rotate: '180d' } } } },
      tls: { type: 'object', properties: { key: { type: 'string', 'x-coffer': { kind: 'hex', expires: '2030-01-01' } } } },
    },
  };
  writeFileSync(join(repo, 'schemas', 'app.schema.json'), JSON.stringify(schema, null, 2));
  const plain = ['db:', '  host: db.internal', '  password: bench-db-password', 'api:', '  token: bench-api-token', '  url: https://api.example.com', 'tls:', '  key: 00112233', 'cache:', '  a: one', '  b: two', '  c: three', ''].join('\n');
  writeFileSync(join(repo, 'secrets', 'prod-0000.yaml'), plain);
  run([node, coffer, 'encrypt', '-i', 'secrets/prod-0000.yaml']);
  // copies of one encrypted file are valid SOPS files (same data key); the history walk reads each
  for (let index = 1; index < FILES; index++) copyFileSync(join(repo, 'secrets', 'prod-0000.yaml'), join(repo, 'secrets', `${index % 2 ? 'dev' : 'prod'}-${String(index).padStart(4, '0')}.yaml`));
  commitAll('add secrets', 200);
  // a second commit changes db.password in half the files 30 days ago (those are not due)
  for (let index = 0; index < FILES; index += 2) {
    const file = `secrets/${index % 2 ? 'dev' : 'prod'}-${String(index).padStart(4, '0')}.yaml`;
    run([node, coffer, 'set', file, 'db.password', '--value', `bench-new-${index}`]);
  }
  commitAll('rotate half of the db passwords', 30);

  const rows = [];
  const time = (label, argv) => {
    run(argv);
    const samples = Array.from({ length: runs }, () => run(argv).ms);
    rows.push([label, median(samples).toFixed(0), Math.min(...samples).toFixed(0)]);
  };
  time('node -e 0', [node, '-e', '0']);
  time('coffer status', [node, coffer, 'status']);
  time('coffer rotate --due --dry-run', [node, coffer, 'rotate', '--due', '--dry-run']);
  const plan = JSON.parse(run([node, coffer, 'rotate', '--due', '--dry-run', '--json']).stdout);
  const due = plan.plans.reduce((sum, item) => sum + item.secrets.length, 0);
  console.log(`${FILES} files, ${FILES * 8} values, 2 commits; plan: ${plan.plans.length} pull requests, ${due} due secrets`);
  console.log(['command', 'median ms', 'min ms'].join('\t'));
  for (const row of rows) console.log(row.join('\t'));
  rmSync(temp, { recursive: true, force: true });
}

await main();
