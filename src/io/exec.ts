// `coffer exec` / `exec-file` (SOPS exec-env / exec-file): run a command with the secrets in its
// environment, or readable once through a FIFO whose path replaces `{}`. Secrets travel only in
// the environment or the FIFO: never in an argv, a regular file or an error message.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants as fsConstants, open as openFd } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CofferError } from '../errors.js';
import { withSignalsHandled } from './cleanup.js';
import { withPrivateTempDir } from './private-dir.js';

export interface RunOptions {
  /** The environment the command inherits (vars are added on top). Default process.env. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Give the command only `vars`, nothing inherited. */
  pristine?: boolean;
  /** Run a one-string command through `/bin/sh -c` (SOPS runs every command this way). */
  shell?: boolean;
}

export interface FileRunOptions extends RunOptions {
  /** Name of the FIFO (keeps an extension programs may look at). Default `secrets`. */
  fileName?: string;
  /** Replaced by the FIFO's path in every argument. Default `{}`. */
  placeholder?: string;
  /** Extra environment variables for the command. */
  vars?: Map<string, string>;
}

/** Builds the child's environment; a name or value the OS cannot carry is refused by name only. */
function buildEnvironment(vars: Map<string, string>, options: RunOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = options.pristine ? {} : { ...(options.env ?? process.env) };
  for (const [name, value] of vars) {
    if (name === '' || name.includes('=') || name.includes('\0') || value.includes('\0')) {
      throw new CofferError('UNSUPPORTED_VALUE', `${name.replace(/\0/g, '\\0')}: cannot be passed as an environment variable`, {
        hints: ['environment variable names cannot be empty or contain `=`, and no name or value may contain a NUL byte'],
        data: { keyPath: name },
      });
    }
    env[name] = value;
  }
  return env;
}

function commandFailed(command: string, message: string, cause?: unknown): CofferError {
  return new CofferError('COMMAND_FAILED', `${command}: ${message}`, {
    hints: ['check the command name and $PATH'],
    data: { command },
    cause,
  });
}

function startCommand(command: string[], env: NodeJS.ProcessEnv, options: RunOptions): ChildProcess {
  const [program, ...args] = command;
  if (program === undefined || program === '') throw new CofferError('USAGE', 'no command given');
  if (options.shell) {
    if (args.length > 0) throw new CofferError('USAGE', 'a shell command must be given as one string');
    return spawn('/bin/sh', ['-c', program], { stdio: 'inherit', env, cwd: options.cwd });
  }
  return spawn(program, args, { stdio: 'inherit', env, cwd: options.cwd });
}

/**
 * Forwards a signal we got to the child. Not a SIGINT while we share a terminal with it: ^C there
 * already reached the child's process group, and a second one makes many programs force-quit.
 */
function forwardSignal(child: ChildProcess, signal: NodeJS.Signals): void {
  if (signal === 'SIGINT' && process.stdin.isTTY) return;
  child.kill(signal);
}

/** Waits for the child, passing our SIGINT/SIGTERM/SIGHUP on; resolves its exit code (signal: 128+n). */
function waitForExit(child: ChildProcess, name: string): Promise<number> {
  return withSignalsHandled(
    (signal) => forwardSignal(child, signal),
    () =>
      new Promise<number>((resolve, reject) => {
        child.once('error', (error) => {
          const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
          reject(commandFailed(name, `cannot run: ${code}`, error));
        });
        child.once('exit', (code, signal) => {
          resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0));
        });
      }),
  );
}

/** Runs `command` with `vars` in its environment and inherited stdio; resolves its exit code. */
export async function runWithEnvironment(
  command: string[],
  vars: Map<string, string>,
  options: RunOptions = {},
): Promise<number> {
  const env = buildEnvironment(vars, options);
  return waitForExit(startCommand(command, env, options), command[0] ?? '');
}

function quoteForShell(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes `data` into the FIFO once a reader opens it. Opening non-blocking and polling means no
 * thread waits forever on a command that never reads; `stop` ends everything when it exits.
 */
async function feedFifo(fifo: string, data: Uint8Array, stop: AbortSignal): Promise<void> {
  let fd: number | undefined;
  while (fd === undefined) {
    if (stop.aborted) return;
    try {
      // A raw fd, not a FileHandle: the socket below owns and closes it.
      fd = await promisify(openFd)(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error; // ENXIO: no reader yet
      await sleep(10);
    }
  }
  const socket = new Socket({ fd, readable: false, writable: true });
  await new Promise<void>((resolve) => {
    const finish = () => {
      stop.removeEventListener('abort', finish);
      socket.destroy();
      resolve();
    };
    socket.once('error', finish); // EPIPE: the reader closed early, which is its business
    stop.addEventListener('abort', finish, { once: true });
    socket.end(data, finish);
  });
}

/**
 * SOPS `exec-file`: runs `command` with the placeholder replaced by the path of a FIFO in a private
 * dir, and feeds `content` through it. The content never lands in a regular file.
 */
export async function runWithFile(
  command: string[],
  content: Uint8Array | string,
  options: FileRunOptions = {},
): Promise<number> {
  const placeholder = options.placeholder ?? '{}';
  const env = buildEnvironment(options.vars ?? new Map(), options);
  const data = Buffer.from(content);
  return withPrivateTempDir(
    async (dir) => {
      const fifo = join(dir, basename(options.fileName ?? '') || 'secrets');
      try {
        await promisify(execFile)('mkfifo', ['-m', '600', fifo]);
      } catch (error) {
        throw commandFailed('mkfifo', 'cannot create the FIFO', error);
      }
      const path = options.shell ? quoteForShell(fifo) : fifo;
      const child = startCommand(
        command.map((arg) => arg.split(placeholder).join(path)),
        env,
        options,
      );
      const stop = new AbortController();
      const feeding = feedFifo(fifo, data, stop.signal);
      feeding.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
      try {
        return await waitForExit(child, command[0] ?? '');
      } finally {
        stop.abort();
        await feeding.catch(() => undefined);
      }
    },
    { prefix: 'coffer-exec-', env: options.env },
  );
}
