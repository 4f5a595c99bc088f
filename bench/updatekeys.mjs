// `node bench/updatekeys.mjs` (after `npm run build`): times `coffer updatekeys --all` on 200
// generated files of 20 values each, re-wrapped from 9 to 10 recipients. Not a test: prints the
// median wall-clock time of whole-process runs (a fresh file set per run, since a second run has
// nothing left to change).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const coffer = join(root, 'bin', 'coffer.cjs');
const FILES = Number(process.env.BENCH_FILES ?? 200);
const RECIPIENTS = 10;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const temp = mkdtempSync(join(tmpdir(), 'coffer-bench-updatekeys-'));
const env = { PATH: process.env.PATH, HOME: temp, XDG_CONFIG_HOME: join(temp, '.config'), SOPS_AGE_KEY_FILE: join(temp, 'r0.txt') };

function run(args, cwd) {
  const result = spawnSync(process.execPath, [coffer, ...args], { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`coffer ${args.join(' ')} failed: ${result.stderr}`);
  return result;
}

try {
  const recipients = [];
  for (let i = 0; i < RECIPIENTS; i++) recipients.push(/age1[0-9a-z]+/.exec(run(['keygen', '-o', join(temp, `r${i}.txt`)], temp).stderr)[0]);
  const policy = (count) =>
    `version: 1\nrecipients:\n${recipients.map((key, i) => `  r${i}: { age: ${key} }`).join('\n')}\ngroups:\n  team: [${recipients.slice(0, count).map((_, i) => `r${i}`).join(', ')}]\nenvironments:\n  all:\n    files: ["secrets/**"]\n    readers: [team]\n`;
  const times = [];
  for (let round = 0; round < runs; round++) {
    const repo = join(temp, `repo${round}`);
    mkdirSync(join(repo, 'secrets'), { recursive: true });
    writeFileSync(join(repo, 'coffer.yaml'), policy(RECIPIENTS - 1));
    for (let f = 0; f < FILES; f++) {
      const lines = [];
      for (let v = 0; v < 20; v++) lines.push(`key${v}: fake-value-${f}-${v}`);
      writeFileSync(join(repo, 'secrets', `s${String(f).padStart(3, '0')}.yaml`), `${lines.join('\n')}\n`);
    }
    // encrypt in one process per 50 files would be faster; this is setup, not measured
    for (let f = 0; f < FILES; f++) run(['encrypt', '--in-place', `secrets/s${String(f).padStart(3, '0')}.yaml`], repo);
    writeFileSync(join(repo, 'coffer.yaml'), policy(RECIPIENTS));
    const start = performance.now();
    const result = run(['updatekeys', '--all'], repo);
    times.push(performance.now() - start);
    if (!result.stderr.includes(`${FILES} of ${FILES} files updated`)) throw new Error(`unexpected summary: ${result.stderr.slice(-200)}`);
  }
  const ms = median(times);
  console.log(`coffer updatekeys --all: ${FILES} files, ${RECIPIENTS} recipients (+1 each): median ${ms.toFixed(0)} ms of ${runs} runs (${(ms / FILES).toFixed(1)} ms per file)`);
} finally {
  rmSync(temp, { recursive: true, force: true });
}
