// Rotate mode of the bundled Action: `coffer rotate --due` through the CLI's own code path, with the
// token masked before anything runs and the CLI's exit status deciding the step.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerFiles, type RunnerFiles, runAction } from './runner-env.js';

let runner: RunnerFiles;
let workspace: string;

beforeAll(() => {
  runner = createRunnerFiles();
  workspace = mkdtempSync(join(tmpdir(), 'coffer-action-rotate-'));
});
afterAll(() => {
  runner.remove();
  rmSync(workspace, { recursive: true, force: true });
});

describe('rotate mode', () => {
  it('fails clearly without a token', () => {
    const run = runAction(runner, { cwd: workspace, inputs: { mode: 'rotate' } });
    expect(run.status).toBe(1);
    expect(run.log.find((line) => line.startsWith('::error'))).toMatch(/rotate mode needs a token/);
  });

  it('masks the token first, runs the CLI in-process with its output in the log, and fails the step on its exit status', () => {
    const token = 'ghs_FAKEtoken0123456789abcdef';
    const run = runAction(runner, { cwd: workspace, inputs: { mode: 'rotate', token, args: '--no-such-flag-for-test' } });
    expect(run.log[0]).toBe(`::add-mask::${token}`);
    // the CLI's own error (JSON under --json) becomes the step's failure (`--due` itself until rotate --due lands)
    expect(run.log.find((line) => line.startsWith('::error'))).toMatch(/^::error title=coffer::coffer rotate --due: unknown option '--(?:no-such-flag-for-test|due)'$/);
    expect(run.log.some((line) => line.startsWith('{'))).toBe(false);
    expect(run.status).toBe(1);
    // the private directory for an imported key is gone as soon as the rotation ends
    expect(run.state.get('private_dir')).toBeDefined();
  });

  it('rejects an unknown mode', () => {
    const run = runAction(runner, { cwd: workspace, inputs: { mode: 'deploy' } });
    expect(run.status).toBe(1);
    expect(run.log.find((line) => line.startsWith('::error'))).toMatch(/mode must be decrypt, verify or rotate, not "deploy"/);
  });
});

describe('the rotation report', () => {
  it('reads the pull requests of `coffer rotate --due --json`, and the plans of a dry run', async () => {
    const { readRotationReport } = await import('../../action/src/rotate.js');
    expect(
      readRotationReport({
        dryRun: false,
        pullRequests: [
          { environment: 'prod', branch: 'coffer/rotate-prod-2026-11-23', committed: true, pushed: true, pullRequest: { url: 'https://github.com/o/r/pull/7', action: 'created' }, generated: ['a', 'b'] },
          { environment: 'dev', branch: 'coffer/rotate-dev-2026-11-23', committed: false, pushed: false, generated: [] },
        ],
      }),
    ).toEqual({
      dryRun: false,
      pullRequests: [
        { environment: 'prod', branch: 'coffer/rotate-prod-2026-11-23', url: 'https://github.com/o/r/pull/7', action: 'created', generated: 2 },
        { environment: 'dev', branch: 'coffer/rotate-dev-2026-11-23', generated: 0 },
      ],
    });
    expect(readRotationReport({ dryRun: true, plans: [{ environment: 'prod', branch: 'b' }] })).toEqual({ dryRun: true, pullRequests: [{ environment: 'prod', branch: 'b', generated: 0 }] });
    expect(readRotationReport(null)).toEqual({ dryRun: false, pullRequests: [] });
  });
});
