// `node bench/log.mjs`: per-key `coffer log FILE PATH` on a generated repository (2,000 commits over
// 50 secrets files, written with git fast-import) timed side by side with `git log --format=%H --
// FILE` in the same run. Target: within 1.5x of git. Bundles the CLI from src into a temp dir
// exactly as the package ships it (scripts/bundle.mjs, run through bin/coffer.cjs; no `npm run build`
// needed). Reports, whole processes all, each against git: the first run (no
// .git/coffer cache: the walk), warm runs (the stored answer for this HEAD), and incremental runs
// (one new commit on top that changes the file: the stored answer extended by that commit); and
// coffer's time without node's own start-up (`node -e 0`) for scale.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { bundleCli } from '../scripts/bundle.mjs';
import { median } from './stats.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const temp = mkdtempSync(join(tmpdir(), 'coffer-bench-log-'));
const FILES = Number(process.env.BENCH_FILES ?? 50);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 2000);
const runs = Number(process.env.BENCH_RUNS ?? 9);
const node = process.execPath;
const repo = join(temp, 'repo');
const home = join(temp, 'home');
const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };

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
  // the package's layout: bin/coffer.cjs loads ../dist/cli/coffer.js (with its code cache under HOME)
  await bundleCli(join(temp, 'package', 'dist', 'cli'));
  mkdirSync(join(temp, 'package', 'bin'));
  for (const name of ['coffer.cjs']) copyFileSync(join(root, 'bin', name), join(temp, 'package', 'bin', name));
  const common = { bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning', banner: { js: "import { createRequire as __cofferRequire } from 'node:module'; const require = __cofferRequire(import.meta.url);" } };
  await build({ ...common, entryPoints: { fixture: join(root, 'bench/log-fixture.ts') }, outdir: join(temp, 'fixture') });
  const coffer = join(temp, 'package', 'bin', 'coffer.cjs');
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
  const parse = (stdout) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));

  // bench/log-fixture.ts: round r (commits r*FILES...) sets k(r % 10) of every file; k3 is added, then changed in rounds 3, 13, ...
  const expected = 1 + Array.from({ length: COMMITS / FILES }, (_, round) => round).filter((round) => round > 0 && round % 10 === 3).length;
  const first = time(cofferArgv);
  const events = parse(first.stdout);
  const warmEvents = parse(time(cofferArgv).stdout);
  if (events.length !== expected || JSON.stringify(warmEvents) !== JSON.stringify(events)) throw new Error(`coffer log listed ${events.length} events (${warmEvents.length} warm), expected ${expected}`);
  const gitFirst = time(gitArgv);
  const gitTimes = [];
  const warmTimes = [];
  const floorTimes = [];
  for (let index = 0; index < runs; index++) {
    gitTimes.push(time(gitArgv).ms);
    warmTimes.push(time(cofferArgv).ms);
    floorTimes.push(time([node, '-e', '0']).ms);
  }
  // incremental: one new commit on top that changes the file (back to an older version of it, so
  // its ENC strings are real), then one run, which extends the stored answer by that commit
  const incrementalTimes = [];
  const gitAfterTimes = [];
  const commitEnv = { ...env, GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };
  let last;
  for (let index = 0; index < runs; index++) {
    const older = execFileSync('git', ['show', `HEAD~${(index % 2) * FILES + FILES * 10}:${file}`], { cwd: repo, env, encoding: 'utf8' });
    writeFileSync(join(repo, file), older);
    execFileSync('git', ['commit', '-q', '-m', `bench ${index}`, '--', file], { cwd: repo, env: commitEnv });
    gitAfterTimes.push(time(gitArgv).ms);
    last = time(cofferArgv);
    incrementalTimes.push(last.ms);
  }
  // the extended answer is the walk's answer
  rmSync(join(repo, '.git', 'coffer', 'answers'), { recursive: true, force: true });
  if (time(cofferArgv).stdout !== last.stdout) throw new Error('coffer log after new commits: the extended answer differs from a fresh walk');

  const gitMs = median(gitTimes);
  const warmMs = median(warmTimes);
  const incrementalMs = median(incrementalTimes);
  const gitAfterMs = median(gitAfterTimes);
  const floorMs = median(floorTimes);
  const ratio = (ms, base) => `${(ms / base).toFixed(2)}x`;
  const row = (label, ms, base, note = '') => console.log(`  ${label.padEnd(48)}${ms.toFixed(1).padStart(7)} ms  vs git ${ratio(ms, base).padStart(6)}${note}`);
  console.log(`coffer log bench: node ${process.version}, ${COMMITS} commits over ${FILES} files; ${file} in ${gitCommits} commits; ${events.length} events for ${keyPath} (${expected} expected); medians of ${runs}`);
  row('git log --format=%H -- FILE', gitMs, gitMs, `  (first run ${gitFirst.ms.toFixed(1)} ms)`);
  row('coffer log FILE PATH, first run (no cache)', first.ms, gitFirst.ms, '  (one run, vs git\'s first run)');
  row('coffer log FILE PATH, warm (answer cache hit)', warmMs, gitMs, `  target <= 1.50: ${warmMs / gitMs <= 1.5 ? 'met' : 'NOT met'}`);
  row('coffer log FILE PATH, one new commit on top', incrementalMs, gitAfterMs, '  (answer extended by the commit)');
  console.log(`  node -e 0 (start-up floor): ${floorMs.toFixed(1)} ms; coffer warm minus floor ${(warmMs - floorMs).toFixed(1)} ms, incremental minus floor ${(incrementalMs - floorMs).toFixed(1)} ms`);
}

try {
  await main();
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${temp}`);
  else rmSync(temp, { recursive: true, force: true });
}
