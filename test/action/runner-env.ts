// A runner-like environment for the bundled Action: INPUT_* variables, the GITHUB_OUTPUT, GITHUB_ENV,
// GITHUB_STATE and GITHUB_STEP_SUMMARY files, RUNNER_TEMP, and a parser for the file commands that
// reads them the way the runner does (`name<<DELIMITER` heredocs, or `name=value` lines).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ACTION_ENTRY = join(import.meta.dirname, '..', '..', 'action', 'dist', 'index.js');
const WRITE_TRACE = join(import.meta.dirname, 'write-trace.cjs');

export interface RunnerFiles {
  root: string;
  temp: string;
  output: string;
  env: string;
  state: string;
  summary: string;
  remove(): void;
}

export function createRunnerFiles(): RunnerFiles {
  const root = mkdtempSync(join(tmpdir(), 'coffer-runner-'));
  const files = { output: join(root, 'output'), env: join(root, 'env'), state: join(root, 'state'), summary: join(root, 'summary') };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const temp = join(root, 'temp');
  mkdirSync(temp);
  return { root, temp, ...files, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Parses a file-command file the way the runner does; throws on anything the runner would reject. */
export function parseFileCommands(text: string): Map<string, string> {
  const values = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line === '') continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const body: string[] = [];
      index++;
      while (index < lines.length && lines[index] !== delimiter) body.push(lines[index++]!);
      if (index >= lines.length) throw new Error(`unterminated heredoc for ${name}`);
      values.set(name, body.join('\n'));
    } else {
      const equals = line.indexOf('=');
      if (equals < 0) throw new Error(`invalid file command line: ${line}`);
      values.set(line.slice(0, equals), line.slice(equals + 1));
    }
  }
  return values;
}

export interface ActionRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout lines without the trace markers. */
  log: string[];
  /** In order: log lines and file writes. */
  events: ({ kind: 'line'; text: string } | { kind: 'write'; path: string; text: string })[];
  outputs: Map<string, string>;
  exportedEnv: Map<string, string>;
  state: Map<string, string>;
  summary: string;
}

export interface RunOptions {
  inputs: Record<string, string>;
  cwd: string;
  extraEnv?: Record<string, string>;
  /** STATE_* variables (the post step). */
  state?: Map<string, string>;
}

function actionEnv(files: RunnerFiles, options: RunOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: files.root,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: options.cwd,
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: files.temp,
    ...options.extraEnv,
  };
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.replaceAll(' ', '_').toUpperCase()}`] = value;
  for (const [name, value] of options.state ?? []) env[`STATE_${name}`] = value;
  return env;
}

function collectRun(files: RunnerFiles, status: number | null, stdout: string, stderr: string): ActionRun {
  const events: ActionRun['events'] = [];
  const log: string[] = [];
  for (const line of stdout.split('\n')) {
    const trace = /^::coffer-trace-write::(.*)::([A-Za-z0-9+/=]*)$/.exec(line);
    if (trace) events.push({ kind: 'write', path: trace[1]!, text: Buffer.from(trace[2]!, 'base64').toString('utf8') });
    else if (line !== '') {
      events.push({ kind: 'line', text: line });
      log.push(line);
    }
  }
  return {
    status,
    stdout,
    stderr,
    log,
    events,
    outputs: parseFileCommands(readFileSync(files.output, 'utf8')),
    exportedEnv: parseFileCommands(readFileSync(files.env, 'utf8')),
    state: parseFileCommands(readFileSync(files.state, 'utf8')),
    summary: readFileSync(files.summary, 'utf8'),
  };
}

/** Runs `node action/dist/index.js` as the runner would (every input given as INPUT_*), with a write trace preloaded. */
export function runAction(files: RunnerFiles, options: RunOptions): ActionRun {
  const result = spawnSync(process.execPath, ['--require', WRITE_TRACE, ACTION_ENTRY], { cwd: options.cwd, env: actionEnv(files, options), encoding: 'utf8' });
  return collectRun(files, result.status, result.stdout, result.stderr);
}

/** runAction without blocking the event loop, for servers running in the test process. */
export function runActionAsync(files: RunnerFiles, options: RunOptions): Promise<ActionRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', WRITE_TRACE, ACTION_ENTRY], { cwd: options.cwd, env: actionEnv(files, options) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (status) => resolve(collectRun(files, status, stdout, stderr)));
  });
}

/** The data of a workflow command, unescaped as the runner does. */
export function unescapeData(text: string): string {
  return text.replaceAll('%0D', '\r').replaceAll('%0A', '\n').replaceAll('%25', '%');
}

/** Finds the first place a secret form shows up before its `::add-mask::`; undefined when none does. */
export function firstUnmaskedUse(run: ActionRun, forms: readonly string[]): string | undefined {
  const masked = new Set<string>();
  for (const event of run.events) {
    if (event.kind === 'line' && event.text.startsWith('::add-mask::')) {
      masked.add(unescapeData(event.text.slice('::add-mask::'.length)));
      continue;
    }
    for (const form of forms) {
      if (!masked.has(form) && event.text.includes(form)) return `${event.kind === 'write' ? `write to ${event.path}` : 'log line'} holds ${JSON.stringify(form)} before its mask`;
    }
  }
  return undefined;
}
