// A temp directory to run the CLI in-process: injected stdin/stdout/stderr, cwd and an environment
// whose HOME points inside the sandbox, so the developer's own keys and .sops.yaml are never used.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string | undefined>;
}

export interface Sandbox {
  dir: string;
  env: Record<string, string | undefined>;
  /** Public key of the sandbox identity (in `key.txt`, also SOPS_AGE_KEY_FILE). */
  recipient: string;
  path(name: string): string;
  write(name: string, content: string | Uint8Array): Promise<void>;
  read(name: string): Promise<string>;
  run(argv: string[], options?: RunOptions): Promise<CliResult>;
  /** Every stderr text any run produced, for the "no plaintext in errors" check. */
  stderrLog: string[];
  dispose(): Promise<void>;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer | string) => chunks.push(Buffer.from(chunk)));
  return () => Buffer.concat(chunks).toString('utf8');
}

export async function runInProcess(argv: string[], cwd: string, env: Record<string, string | undefined>, stdinText = ''): Promise<CliResult> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  stdin.end(stdinText);
  const code = await runCli(argv, { stdin, stdout, stderr, env, cwd });
  return { code, stdout: out(), stderr: err() };
}

export async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-cli-'));
  const path = (name: string) => join(dir, name);
  const stderrLog: string[] = [];
  // Only PATH of the real environment: children started by exec need it, nothing else may leak in.
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: path('home'),
    XDG_CONFIG_HOME: path('home/.config'),
    SOPS_AGE_KEY_FILE: path('key.txt'),
  };
  const run = async (argv: string[], options: RunOptions = {}) => {
    const result = await runInProcess(argv, dir, { ...env, ...options.env }, options.stdin);
    stderrLog.push(result.stderr);
    return result;
  };
  const keygen = await run(['keygen', '-o', 'key.txt']);
  const recipient = /age1[0-9a-z]+/.exec(keygen.stderr)?.[0];
  if (keygen.code !== 0 || !recipient) throw new Error(`sandbox keygen failed: ${keygen.stderr}`);
  return {
    dir,
    env,
    recipient,
    path,
    write: (name, content) => writeFile(path(name), content),
    read: (name) => readFile(path(name), 'utf8'),
    run,
    stderrLog,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A fixed author and committer, so commits in a sandbox need no git user config. */
export const GIT_IDENTITY = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };

/** Runs git in `dir` as {@link GIT_IDENTITY}; its stdout. */
export const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY } });

/** The `{"error": ...}` object a `--json` run printed on stderr. */
export function jsonError(result: CliResult): { code: string; message: string; hints: string[]; [key: string]: unknown } {
  const line = result.stderr.split('\n').find((text) => text.startsWith('{"error"'));
  if (!line) throw new Error(`no JSON error on stderr: ${result.stderr}`);
  return JSON.parse(line).error;
}

/** Line numbers (0-based) where two texts with the same number of lines differ. */
export function changedLines(before: string, after: string): number[] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length !== b.length) throw new Error(`line count changed: ${a.length} -> ${b.length}`);
  return a.flatMap((line, index) => (line === b[index] ? [] : [index]));
}

/** Resolves once the wall clock is in a new second (lastmodified has whole-second precision). */
export async function waitForNextSecond(): Promise<void> {
  const second = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === second) await new Promise((resolve) => setTimeout(resolve, 20));
}
