// The CLI's stdout/stderr: text written straight to the file descriptor, in order and whole.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
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

  it('a pipe that would block (EAGAIN) gets the rest through the stream, in order, and drain() waits for it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-output-'));
    const module = join(dir, 'context.cjs');
    await build({ entryPoints: [join(import.meta.dirname, '../../src/cli/context.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: module, logLevel: 'silent' });
    const script = join(dir, 'writer.cjs');
    writeFileSync(
      script,
      `const net = require('node:net');
const { descriptorOutput } = require(${JSON.stringify(module)});
// a socket on fd 1 makes the pipe non-blocking, as some parent processes leave it
new net.Socket({ fd: 1, readable: false, writable: true });
const out = descriptorOutput(1, () => process.stdout);
for (let line = 0; line < 4000; line++) out.write('line ' + line + ' ' + 'x'.repeat(100) + '\\n');
out.drain().then(() => process.exit(0));
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // nobody reads for a while: the pipe fills and the writer meets EAGAIN
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = Buffer.concat(chunks).toString().split('\n').filter(Boolean);
    expect(lines).toHaveLength(4000);
    expect(lines.every((line, index) => line.startsWith(`line ${index} `))).toBe(true);
  });
});

