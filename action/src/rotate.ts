// Rotate mode, for a scheduled workflow: `coffer rotate --due --json` with the job's token, which
// rotates what is due and opens or updates one pull request per environment. Runs the CLI's own
// code path in-process (runCli), so the Action and `coffer rotate --due` on a laptop behave the
// same; the CLI's messages go to the step's log, its JSON report becomes outputs and a summary.
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { CofferError } from '../../src/errors.js';
import type { Runner } from './runner.js';

export interface RotationOptions {
  cwd: string;
  /** The job's token (`github.token` by default): pushes the branch and opens the pull request. */
  token: string;
  /** The environment holding the identity (see identityEnvironment). */
  env: Record<string, string | undefined>;
  /** Extra `coffer rotate --due` arguments from the `args` input. */
  args: readonly string[];
}

/** One pull request of the report, as far as the Action shows it. */
export interface RotationPullRequest {
  environment: string;
  branch: string;
  url?: string;
  action?: string;
  generated: number;
}

export interface RotationResult {
  exitCode: number;
  /** The CLI's error (it prints errors as JSON with --json). */
  error?: { message: string; hints: string[] };
  /** Present when the CLI printed its JSON report. */
  dryRun?: boolean;
  pullRequests: RotationPullRequest[];
}

function lineWriter(write: (line: string) => void): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) write(line);
      callback();
    },
    final(callback) {
      if (pending) write(pending);
      callback();
    },
  });
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** The pull requests of `coffer rotate --due --json` (`{ pullRequests: [...] }`; a dry run lists `plans`). */
export function readRotationReport(report: unknown): Pick<RotationResult, 'dryRun' | 'pullRequests'> {
  const root = (report ?? {}) as { dryRun?: unknown; pullRequests?: unknown; plans?: unknown };
  const entries = Array.isArray(root.pullRequests) ? root.pullRequests : Array.isArray(root.plans) ? root.plans : [];
  const pullRequests = entries.map((entry: Record<string, unknown>) => {
    const pullRequest = (entry['pullRequest'] ?? {}) as Record<string, unknown>;
    const url = text(pullRequest['url']);
    const action = text(pullRequest['action']);
    return {
      environment: text(entry['environment']) ?? '',
      branch: text(entry['branch']) ?? '',
      ...(url ? { url } : {}),
      ...(action ? { action } : {}),
      generated: Array.isArray(entry['generated']) ? entry['generated'].length : 0,
    };
  });
  return { dryRun: root.dryRun === true, pullRequests };
}

/** `{"error":{"message":...,"hints":[...]}}`, the CLI's error line under --json. */
function readErrorLine(line: string): RotationResult['error'] {
  if (!line.startsWith('{"error"')) return undefined;
  try {
    const { error } = JSON.parse(line) as { error?: { message?: unknown; hints?: unknown } };
    if (typeof error?.message !== 'string') return undefined;
    return { message: error.message, hints: Array.isArray(error.hints) ? error.hints.filter((hint): hint is string => typeof hint === 'string') : [] };
  } catch {
    return undefined;
  }
}

export async function runRotation(runner: Runner, options: RotationOptions): Promise<RotationResult> {
  if (!options.token) {
    throw new CofferError('GITHUB_TOKEN_MISSING', 'rotate mode needs a token to push the branch and open the pull request', {
      hints: ['pass the token input (default: the job token) and grant the job contents: write and pull-requests: write'],
    });
  }
  const json: string[] = [];
  let error: RotationResult['error'];
  const stdout = lineWriter((line) => json.push(line));
  const stderr = lineWriter((line) => {
    const reported = readErrorLine(line);
    if (reported) error = reported;
    else runner.write(line);
  });
  const exitCode = await runCli(['rotate', '--due', '--json', ...options.args], {
    stdin: process.stdin,
    stdout,
    stderr,
    env: { ...options.env, GITHUB_TOKEN: options.token },
    cwd: options.cwd,
  });
  stdout.end();
  stderr.end();
  let report: unknown;
  try {
    report = JSON.parse(json.join('\n'));
  } catch {
    // not the JSON report (an older CLI, or a usage error): show it as it is
    for (const line of json) runner.write(line);
    return { exitCode, ...(error ? { error } : {}), pullRequests: [] };
  }
  return { exitCode, ...(error ? { error } : {}), ...readRotationReport(report) };
}
