import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runWithEnvironment, runWithFile } from '../../src/io/exec.js';
import { startProcess, useHarness } from './harness.js';
import { rejection } from '../helpers/errors.js';

const reporter = fileURLToPath(new URL('./fixtures/report-process.mjs', import.meta.url));
const secret = 'sup3r-s3cret-value';

interface Seen {
  argv: string[];
  secret?: string;
  envNames: string[];
  gotSignal?: string;
  file?: { path: string; isFIFO: boolean; isFile: boolean; dirMode: number };
  content?: string;
}

const harness = useHarness();
let dir: string;
let report: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-exec-'));
  report = join(dir, 'report.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function seen(): Promise<Seen> {
  return JSON.parse(await readFile(report, 'utf8')) as Seen;
}

const vars = new Map([['COFFER_TEST_SECRET', secret]]);

describe('runWithEnvironment', () => {
  it('passes the vars in the environment only, never in argv', async () => {
    const code = await runWithEnvironment([process.execPath, reporter, report, 'exit:0'], vars);
    expect(code).toBe(0);
    const child = await seen();
    expect(child.secret).toBe(secret);
    expect(child.envNames).toContain('PATH');
    expect(JSON.stringify(child.argv)).not.toContain(secret);
  });

  it('gives only the vars with pristine', async () => {
    await runWithEnvironment([process.execPath, reporter, report, 'exit:0'], vars, { pristine: true });
    const child = await seen();
    expect(child.secret).toBe(secret);
    expect(child.envNames.filter((name) => name !== 'COFFER_TEST_SECRET')).not.toContain('PATH');
  });

  it('passes exit codes through, and a signal death as 128+n', async () => {
    expect(await runWithEnvironment([process.execPath, reporter, report, 'exit:7'], vars)).toBe(7);
    expect(await runWithEnvironment([process.execPath, reporter, report, 'kill:SIGTERM'], vars)).toBe(143);
  });

  it('runs a one-string command through the shell when asked', async () => {
    const out = join(dir, 'out');
    const code = await runWithEnvironment([`printf %s "$COFFER_TEST_SECRET" > '${out}'; exit 3`], vars, { shell: true });
    expect(code).toBe(3);
    expect(await readFile(out, 'utf8')).toBe(secret);
  });

  it('fails with COMMAND_FAILED for a missing program and refuses a NUL by variable name only', async () => {
    const missing = await rejection(runWithEnvironment(['coffer-no-such-command'], vars));
    expect(missing.code).toBe('COMMAND_FAILED');
    expect(missing.message).toContain('coffer-no-such-command');
    const nul = await rejection(runWithEnvironment(['true'], new Map([['TOKEN', `${secret}\0x`]])));
    expect(nul.code).toBe('UNSUPPORTED_VALUE');
    expect(nul.message).toContain('TOKEN');
    expect(nul.message).not.toContain(secret);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`forwards ${signal} to the command and exits with its code`, async () => {
      const command = [process.execPath, reporter, report, 'wait-signal'];
      const run = startProcess(process.execPath, [harness.script, 'exec', ...command]);
      expect(await run.firstLine).toBe('ready');
      run.kill(signal); // only coffer gets it (no terminal); the command learns of it from us
      const finished = await run.finished;
      expect(finished).toMatchObject({ code: 0, signal: null });
      expect(finished.stdout).toContain('exit 0');
      expect((await seen()).gotSignal).toBe(signal);
    });
  }
});

describe('runWithFile', () => {
  it('feeds the content through a FIFO in a private dir that is removed afterwards', async () => {
    const content = `${secret}\n`;
    const code = await runWithFile([process.execPath, reporter, report, 'read', '{}'], content, { fileName: 'app.env' });
    expect(code).toBe(0);
    const child = await seen();
    expect(child.content).toBe(content);
    expect(child.file).toMatchObject({ isFIFO: true, isFile: false, dirMode: 0o700 });
    expect(child.file!.path.endsWith('/app.env')).toBe(true);
    expect(JSON.stringify(child.argv)).not.toContain(secret);
    expect(existsSync(dirname(child.file!.path))).toBe(false);
  });

  it('works with `cat {}` through the shell, for content larger than a pipe buffer', async () => {
    const content = 'x'.repeat(1024 * 1024 + 7);
    const out = join(dir, 'out');
    expect(await runWithFile([`cat {} > '${out}'`], content, { shell: true })).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(content);
  });

  it('does not hang when the command never reads the file, or stops reading early', async () => {
    const started = Date.now();
    expect(await runWithFile([process.execPath, '-e', 'process.exit(4)', '{}'], 'unread')).toBe(4);
    expect(await runWithFile(['head -c 3 {} > /dev/null'], 'y'.repeat(4 * 1024 * 1024), { shell: true })).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('uses a custom placeholder and passes vars in the environment', async () => {
    const code = await runWithFile([process.execPath, reporter, report, 'read', '@FILE@'], 'content', {
      placeholder: '@FILE@',
      vars,
    });
    expect(code).toBe(0);
    expect(await seen()).toMatchObject({ content: 'content', secret });
  });
});
