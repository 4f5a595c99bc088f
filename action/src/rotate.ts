// Rotate mode, for a scheduled workflow: `coffer rotate --due` with the job's token, which rotates
// what is due and opens or updates one pull request per environment. Calls the command's own
// function (runRotateDue) with an injected context: its messages go to the step's log, its JSON
// report becomes the Action's outputs and summary, its errors fail the step.
import { Writable } from 'node:stream';
import { runRotateDue } from '../../src/cli/commands/rotate-due.js';
import { CofferError } from '../../src/errors.js';
import type { Runner } from './runner.js';

export interface RotationOptions {
  cwd: string;
  /** The job's token (`github.token` by default): pushes the branch and opens the pull request. */
  token: string;
  /** The environment holding the identity (see identityEnvironment). */
  env: Record<string, string | undefined>;
  /** `--dry-run`: print the plan, change nothing. */
  dryRun: boolean;
  /** `--window`: also rotate what falls due within this long (14d, 4w). */
  window: string;
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
  dryRun: boolean;
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
export function readRotationReport(report: unknown): RotationResult {
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

export async function runRotation(runner: Runner, options: RotationOptions): Promise<RotationResult> {
  if (!options.token && !options.dryRun) {
    throw new CofferError('GITHUB_TOKEN_MISSING', 'rotate mode needs a token to push the branch and open the pull request', {
      hints: ['pass the token input (default: the job token) and grant the job contents: write and pull-requests: write'],
    });
  }
  const json: string[] = [];
  const stdout = lineWriter((line) => json.push(line));
  const stderr = lineWriter((line) => runner.write(line));
  try {
    await runRotateDue({ stdin: process.stdin, stdout, stderr, env: { ...options.env, GITHUB_TOKEN: options.token }, cwd: options.cwd }, [], {
      due: true,
      json: true,
      dryRun: options.dryRun,
      window: options.window,
      ...(options.token ? { token: options.token } : {}),
    });
  } finally {
    stdout.end();
    stderr.end();
  }
  return readRotationReport(JSON.parse(json.join('\n') || '{}'));
}
