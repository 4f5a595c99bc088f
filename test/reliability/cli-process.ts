// The built CLI as real child processes in a temp directory of its own (HOME, key file and cwd
// inside it), plus a library view of the files it writes, for the crash, concurrency and leak tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OpenedFile, openFile } from '../../src/file/secrets-file.js';
import { detectStore } from '../../src/format/stores/index.js';
import type { PlainValue } from '../../src/format/tree.js';
import { keyRingFor, makeTestKey, type TestKey } from '../helpers/keys.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(root, 'bin', 'coffer.cjs');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Started {
  child: ChildProcess;
  /** When the process itself has exited (its grandchildren may still hold the output pipes). */
  exited: Promise<void>;
  finished: Promise<Finished>;
}

export interface CliDir {
  dir: string;
  key: TestKey;
  env: NodeJS.ProcessEnv;
  path(name: string): string;
  /** `detached` makes the child a process-group leader (for a terminal-like ^C to the whole group). */
  start(args: string[], options?: { stdin?: string; env?: NodeJS.ProcessEnv; detached?: boolean }): Started;
  run(args: string[], options?: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Finished>;
  open(name: string): Promise<OpenedFile>;
  dispose(): Promise<void>;
}

export function assertBuilt(): void {
  if (!existsSync(join(root, 'dist', 'cli', 'coffer.js'))) throw new Error('dist/cli/coffer.js is missing: run `npm run build` (npm test does)');
}

export async function createCliDir(prefix = 'coffer-rel-'): Promise<CliDir> {
  assertBuilt();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const key = await makeTestKey();
  await writeFile(join(dir, 'key.txt'), `${key.identity}\n`, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'home', '.config'), SOPS_AGE_KEY_FILE: join(dir, 'key.txt') };
  const start = (args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv; detached?: boolean } = {}): Started => {
    const began = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'], detached: options.detached ?? false });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin?.on('error', () => undefined); // a killed child closes its stdin early
    child.stdin?.end(options.stdin ?? '');
    const finished = new Promise<Finished>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - began }));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, exited, finished };
  };
  const keys = keyRingFor(key);
  return {
    dir,
    key,
    env,
    path: (name) => join(dir, name),
    start,
    run: async (args, options = {}) => {
      const started = start(args, options);
      const timer = setTimeout(() => started.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      try {
        return await started.finished;
      } finally {
        clearTimeout(timer);
      }
    },
    open: async (name) => openFile({ file: name, store: detectStore(name), content: await readFile(join(dir, name)) }, keys),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Files the io layer leaves behind: temp files of atomic writes, locks and their temp files. */
export async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.includes('.coffer-tmp') || name.includes('.coffer-lock'));
}

/** A YAML file of `services` x `keys` values, every value containing `canary`. */
export function bigYaml(services: number, keys: number): { text: string; model: Map<string, string> } {
  const model = new Map<string, string>();
  const lines: string[] = [];
  for (let s = 0; s < services; s++) {
    lines.push(`svc${s}:`);
    for (let k = 0; k < keys; k++) {
      const value = `canary-${s}-${k}-${'x'.repeat(24)}`;
      model.set(`svc${s}.k${k}`, value);
      lines.push(`    k${k}: ${value}`);
    }
  }
  return { text: `${lines.join('\n')}\n`, model };
}

/** The dotted-path view of a decrypted YAML map, for comparing with a model. */
export function flatten(value: PlainValue | undefined, prefix = '', into = new Map<string, string>()): Map<string, string> {
  if (value instanceof Map) for (const [key, item] of value) flatten(item, prefix ? `${prefix}.${key}` : key, into);
  else if (value !== undefined) into.set(prefix, String(value));
  return into;
}

/** A small deterministic generator, so a failing run can be replayed from its printed seed. */
export function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
