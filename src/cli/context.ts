// Everything a command may touch of the process, passed in so tests run the CLI in-process.
import { fstatSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** Where a command writes text: process.stdout/stderr, or a stream a test collects. */
export interface OutputStream {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** A descriptor output: also says when everything written has left the process. */
export interface DescriptorOutput extends OutputStream {
  /** Resolves once text handed to the fallback stream (after EAGAIN) is written; at once otherwise. */
  drain(): Promise<void>;
}

export interface CliStreams {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: OutputStream;
  stderr: OutputStream;
}

export interface CliContext extends CliStreams {
  env: Record<string, string | undefined>;
  cwd: string;
}

/**
 * stdout or stderr written with write(2) on its file descriptor. Creating process.stdout builds a
 * stream (and loads net, tty and stream code) that costs a short command like `coffer log` a
 * fifth of its run; the descriptor is written directly instead, in order and completely. A pipe
 * that would block (EAGAIN) hands the rest to the real stream; a reader that went away (EPIPE, as
 * in `coffer log | head`) ends the output quietly.
 */
export function descriptorOutput(fd: number, stream: () => NodeJS.WriteStream): DescriptorOutput {
  let fallback: NodeJS.WriteStream | undefined;
  let closed = false;
  // node:tty loads net and the stream classes; a descriptor that is no character device is no terminal
  const isTTY = () => {
    try {
      return fstatSync(fd).isCharacterDevice() && Boolean(stream().isTTY);
    } catch {
      return false;
    }
  };
  return {
    get isTTY() {
      return isTTY();
    },
    get columns() {
      return isTTY() ? stream().columns : undefined;
    },
    write(chunk) {
      if (closed) return false;
      if (fallback) return fallback.write(chunk);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      let written = 0;
      try {
        while (written < bytes.length) written += writeSync(fd, bytes, written);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') {
          closed = true;
          return false;
        }
        if (code !== 'EAGAIN') throw error;
        fallback = stream();
        return fallback.write(bytes.subarray(written));
      }
      return true;
    },
    drain() {
      const pending = fallback;
      return pending && pending.writableLength > 0 ? new Promise((resolve) => pending.write('', () => resolve())) : Promise.resolve();
    },
  };
}

export interface NodeCliContext extends CliContext {
  stdout: DescriptorOutput;
  stderr: DescriptorOutput;
}

export function nodeCliContext(): NodeCliContext {
  const stdout = descriptorOutput(1, () => process.stdout);
  const stderr = descriptorOutput(2, () => process.stderr);
  // process.stdin is a getter that builds a stream: only commands that read input pay for it
  return {
    get stdin() {
      return process.stdin;
    },
    stdout,
    stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Writes a line to stderr unless --quiet; never used for values. */
export function note(context: CliContext, quiet: boolean | undefined, message: string): void {
  if (!quiet) context.stderr.write(`${message}\n`);
}

export function writeJson(context: CliContext, value: unknown): void {
  context.stdout.write(`${JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? Number(item) : item), 2)}\n`);
}

export async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}

/** Reads a line from the terminal without echoing it (for `coffer set` without --value). */
export async function promptHidden(context: CliContext, prompt: string): Promise<string> {
  const { stdin, stderr } = context;
  stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(Object.assign(new Error('interrupted'), { interrupted: true }));
          return;
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
