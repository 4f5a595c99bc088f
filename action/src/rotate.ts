// Rotate mode, for a scheduled workflow: `coffer rotate --due` with the job's token, which rotates
// what is due and opens or updates one pull request per rotation. Runs the CLI's own code path
// in-process (runCli with the step's log as its output), so the Action and `coffer rotate --due`
// on a laptop behave the same.
import { Writable } from 'node:stream';
import { CofferError } from '../../src/errors.js';
import { runCli } from '../../src/cli/main.js';
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

export interface RotationResult {
  exitCode: number;
  /** Set when the step must fail. */
  failure?: string;
}

function lineWriter(runner: Runner): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) runner.write(line);
      callback();
    },
    final(callback) {
      if (pending) runner.write(pending);
      callback();
    },
  });
}

export async function runRotation(runner: Runner, options: RotationOptions): Promise<RotationResult> {
  if (!options.token) {
    throw new CofferError('GITHUB_TOKEN_MISSING', 'rotate mode needs a token to push the branch and open the pull request', {
      hints: ['pass the token input (default: the job token) and grant the job contents: write and pull-requests: write'],
    });
  }
  const stdout = lineWriter(runner);
  const stderr = lineWriter(runner);
  const exitCode = await runCli(['rotate', '--due', ...options.args], {
    stdin: process.stdin,
    stdout,
    stderr,
    env: { ...options.env, GITHUB_TOKEN: options.token },
    cwd: options.cwd,
  });
  stdout.end();
  stderr.end();
  return exitCode === 0 ? { exitCode } : { exitCode, failure: `coffer rotate --due failed (exit ${exitCode})` };
}
