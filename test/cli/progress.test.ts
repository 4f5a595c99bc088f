import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.js';
import { startProgress } from '../../src/cli/progress.js';

function contextWith(isTTY: boolean, env: Record<string, string> = {}): { context: CliContext; output: () => string } {
  const stderr = Object.assign(new PassThrough(), { isTTY, columns: 60 });
  let text = '';
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const context = { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env, cwd: '/' } as CliContext;
  return { context, output: () => text };
}

describe('progress bar', () => {
  it('draws on a terminal, clears itself before the command writes a line, and gives the stream back', async () => {
    const { context, output } = contextWith(true);
    const original = context.stderr.write;
    const progress = startProgress(context, 3, 'updatekeys');
    progress.tick('a.yaml');
    context.stderr.write('a.yaml: +1 -0 recipients\n');
    progress.tick('b.yaml');
    progress.done();
    expect(context.stderr.write).toBe(original);
    await new Promise((resolve) => setImmediate(resolve));
    expect(output()).toBe(
      'updatekeys [........................] 1/3 a.yaml\r\u001b[Ka.yaml: +1 -0 recipients\nupdatekeys [########................] 2/3 b.yaml\r\u001b[K',
    );
  });

  it.each([
    ['not a terminal', false, {}, {}],
    ['CI', true, { CI: 'true' }, {}],
    ['--quiet', true, {}, { quiet: true }],
    ['--json', true, {}, { json: true }],
  ])('draws nothing when %s', async (_name, tty, env, options) => {
    const { context, output } = contextWith(tty, env);
    const progress = startProgress(context, 5, 'updatekeys', options);
    progress.tick('a.yaml');
    progress.done();
    await new Promise((resolve) => setImmediate(resolve));
    expect(output()).toBe('');
  });
});
