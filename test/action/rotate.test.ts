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
    // commander's usage error, written by the CLI to the step's log (`--due` itself until rotate --due lands)
    expect(run.log.some((line) => /^error: unknown option '--(?:no-such-flag-for-test|due)'$/.test(line))).toBe(true);
    expect(run.log.find((line) => line.startsWith('::error'))).toMatch(/coffer rotate --due failed \(exit 2\)/);
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
