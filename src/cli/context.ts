// Everything a command may touch of the process, passed in so tests run the CLI in-process.
import type { Readable, Writable } from 'node:stream';

export interface CliStreams {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}

export interface CliContext extends CliStreams {
  env: Record<string, string | undefined>;
  cwd: string;
}

export function nodeCliContext(): CliContext {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
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
