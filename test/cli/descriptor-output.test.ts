// The CLI's stdout/stderr: text written straight to the file descriptor, in order and whole.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { descriptorOutput } from '../../src/cli/context.js';

describe('descriptorOutput', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes strings and bytes in order, and says a file is not a terminal', () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-output-'));
    const path = join(dir, 'out.txt');
    const fd = openSync(path, 'w');
    let streamed = false;
    const output = descriptorOutput(fd, () => {
      streamed = true;
      throw new Error('no stream wanted');
    });
    output.write('héllo ');
    output.write(new Uint8Array(Buffer.from('wörld\n')));
    output.write('x'.repeat(200_000));
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe(`héllo wörld\n${'x'.repeat(200_000)}`);
    expect(output.isTTY).toBe(false);
    expect(output.columns).toBeUndefined();
    expect(streamed).toBe(false);
  });

  it('surfaces write errors other than EPIPE (EPIPE: see smoke.test.ts)', () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-output-'));
    const fd = openSync(join(dir, 'closed.txt'), 'w');
    closeSync(fd);
    // a closed descriptor: EBADF is not EPIPE, so it surfaces
    expect(() => descriptorOutput(fd, () => process.stdout).write('x')).toThrow(/EBADF/);
  });
});
