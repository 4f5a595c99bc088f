// Bundles test/io/fixtures/io-harness.ts into a runnable .mjs, so tests can run real processes
// that use coffer's io modules.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll } from 'vitest';

interface Harness {
  script: string;
  dispose(): Promise<void>;
}

async function bundleHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-io-harness-'));
  const script = join(dir, 'io-harness.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/io-harness.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: script,
    logLevel: 'silent',
  });
  return { script, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** The bundled harness of a test file: built before its tests, removed after them. */
export function useHarness(): { readonly script: string } {
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await bundleHarness();
  });
  afterAll(async () => {
    await harness?.dispose();
  });
  return {
    get script() {
      if (!harness) throw new Error('the io harness is built in beforeAll');
      return harness.script;
    },
  };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a process to its end, collecting its output. */
export function runProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface Running {
  pid: number;
  /** The first line the process printed (it prints one when it is ready). */
  firstLine: Promise<string>;
  finished: Promise<Finished>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts a long-running process that announces readiness with one line on stdout. */
export function startProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let stdout = '';
  let stderr = '';
  let announce: (line: string) => void = () => undefined;
  const firstLine = new Promise<string>((resolve) => {
    announce = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const end = stdout.indexOf('\n');
    if (end >= 0) announce(stdout.slice(0, end));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      announce(`(exited before announcing: ${stderr.trim()})`);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { pid: child.pid ?? -1, firstLine, finished, kill: (signal) => child.kill(signal) };
}
