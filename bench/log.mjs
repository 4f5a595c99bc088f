// `node bench/log.mjs`: per-key `coffer log FILE PATH` on a generated repository (2,000 commits over
// 50 secrets files, written with git fast-import) timed side by side with `git log --format=%H --
// FILE` in the same run. Target: within 1.5x of git. Bundles the CLI from src into a temp dir
// (no `npm run build` needed). Reports the first run (no .git/coffer cache) and warm runs (median,
// the cache written by earlier runs), whole processes both; and coffer's time without node's own
// start-up (`node -e 0`) for scale.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const temp = mkdtempSync(join(tmpdir(), 'coffer-bench-log-'));
const FILES = Number(process.env.BENCH_FILES ?? 50);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 2000);
const runs = Number(process.env.BENCH_RUNS ?? 9);
const node = process.execPath;
const repo = join(temp, 'repo');
const home = join(temp, 'home');
const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function time(argv) {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { cwd: repo, env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
  return { ms, stdout: result.stdout };
}

async function main() {
  mkdirSync(repo, { recursive: true });
  mkdirSync(home, { recursive: true });
  const common = { bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning', banner: { js: "import { createRequire as __cofferRequire } from 'node:module'; const require = __cofferRequire(import.meta.url);" } };
  await build({ ...common, entryPoints: { coffer: join(root, 'src/cli/bin.ts') }, outdir: join(temp, 'cli'), splitting: true, minifySyntax: true, minifyWhitespace: true });
  await build({ ...common, entryPoints: { fixture: join(root, 'bench/log-fixture.ts') }, outdir: join(temp, 'fixture') });
  const coffer = join(temp, 'cli', 'coffer.js');
  const { writeHistory } = await import(pathToFileURL(join(temp, 'fixture', 'fixture.js')).href);
  const { stream } = await writeHistory(FILES, COMMITS, home);
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo, env });
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, env, input: stream });
  execFileSync('git', ['reset', '-q', '--hard', 'main'], { cwd: repo, env });

  const file = 'secrets/f7.yaml';
  const keyPath = 'k3';
  const gitArgv = ['git', 'log', '--format=%H', '--', file];
  const cofferArgv = [node, coffer, 'log', '--ndjson', '--no-decrypt', file, keyPath];
  const gitCommits = time(gitArgv).stdout.trim().split('\n').length;

  // bench/log-fixture.ts: round r (commits r*FILES...) sets k(r % 10) of every file; k3 is added, then changed in rounds 3, 13, ...
  const expected = 1 + Array.from({ length: COMMITS / FILES }, (_, round) => round).filter((round) => round > 0 && round % 10 === 3).length;
  const first = time(cofferArgv);
  const events = first.stdout.trim().split('\n').map((line) => JSON.parse(line));
  const warmEvents = time(cofferArgv).stdout.trim().split('\n').map((line) => JSON.parse(line));
  if (events.length !== expected || JSON.stringify(warmEvents) !== JSON.stringify(events)) throw new Error(`coffer log listed ${events.length} events (${warmEvents.length} warm), expected ${expected}`);
  const gitFirst = time(gitArgv);
  const gitTimes = [];
  const cofferTimes = [];
  const floorTimes = [];
  for (let index = 0; index < runs; index++) {
    gitTimes.push(time(gitArgv).ms);
    cofferTimes.push(time(cofferArgv).ms);
    floorTimes.push(time([node, '-e', '0']).ms);
  }
  const gitMs = median(gitTimes);
  const cofferMs = median(cofferTimes);
  const floorMs = median(floorTimes);
  console.log(`coffer log bench: node ${process.version}, ${COMMITS} commits over ${FILES} files; ${file} in ${gitCommits} commits; ${events.length} events for ${keyPath} (${expected} expected)`);
  console.log(`  git log --format=%H -- FILE:        ${gitMs.toFixed(1)} ms (median of ${runs}; first ${gitFirst.ms.toFixed(1)} ms)`);
  console.log(`  coffer log FILE PATH, first run:    ${first.ms.toFixed(1)} ms  ratio ${(first.ms / gitFirst.ms).toFixed(2)}x`);
  console.log(`  coffer log FILE PATH, warm:         ${cofferMs.toFixed(1)} ms  ratio ${(cofferMs / gitMs).toFixed(2)}x (target <= 1.50: ${cofferMs / gitMs <= 1.5 ? 'met' : 'NOT met'})`);
  console.log(`  node -e 0 (start-up floor):         ${floorMs.toFixed(1)} ms; coffer warm minus floor ${(cofferMs - floorMs).toFixed(1)} ms`);
}

try {
  await main();
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${temp}`);
  else rmSync(temp, { recursive: true, force: true });
}
