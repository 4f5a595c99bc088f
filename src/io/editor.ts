// `coffer edit`: the decrypted document goes to a 0600 file in a private dir, the user's editor
// opens it on the inherited terminal, and the edited text comes back. Only the file's path is ever
// in an argv; the private dir is removed whatever happens.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { CofferError } from '../errors.js';
import { withSignalsHandled } from './cleanup.js';
import { withPrivateTempDir, writePrivateFile } from './private-dir.js';

export interface EditOptions {
  /** Name of the file being edited; its base name (and so its extension) is kept for the editor. */
  fileName: string;
  content: string | Uint8Array;
  /** Environment for $VISUAL/$EDITOR and for the editor itself. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Validates the edited text: returns a problem to show the user, or undefined when it is fine.
   * The problem is printed and may end up in an error message: it must not quote the text.
   */
  onInvalid?: (text: string) => string | undefined;
  /** Asks whether to re-open the editor after a problem. Default: ask on the terminal; no TTY: abort. */
  confirmReopen?: (problem: string) => Promise<boolean>;
}

/** The editor command line: $VISUAL, else $EDITOR, else vi (as git and sops choose). */
export function chooseEditor(env: NodeJS.ProcessEnv = process.env): string {
  return env.VISUAL?.trim() || env.EDITOR?.trim() || 'vi';
}

/** Asks on the terminal (stdin/stderr); without one there is nobody to ask, so abort. */
export async function confirmReopenOnTerminal(problem: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${problem}\nre-open the editor to fix it? [Y/n] `);
    return !/^\s*n/i.test(answer);
  } finally {
    prompt.close();
  }
}

function editorFailed(fileName: string, message: string, cause?: unknown): CofferError {
  return new CofferError('EDITOR_FAILED', `${fileName}: ${message}`, {
    hints: ['set $VISUAL or $EDITOR to an editor that waits until the file is closed (e.g. `code --wait`)'],
    data: { file: fileName },
    cause,
  });
}

/**
 * `exec ` when the editor line is a plain command with arguments, so the shell is replaced by the
 * editor and a SIGTERM/SIGHUP we forward reaches the editor itself instead of killing only the
 * shell and orphaning the editor. Lines with shell syntax or `VAR=value` prefixes run as they are.
 */
function execPrefix(editor: string): string {
  return /^[\w./~+-]+(\s+[\w./~+:,@%-]+)*$/.test(editor) ? 'exec ' : '';
}

/**
 * Runs the editor command line through `sh -c '<editor> "$@"'` (like git), so $EDITOR may carry
 * arguments and quoting while the file path travels as a positional argument.
 */
async function runEditor(editor: string, file: string, fileName: string, env: NodeJS.ProcessEnv): Promise<void> {
  const child =
    process.platform === 'win32'
      ? spawn(`${editor} "${file}"`, { shell: true, stdio: 'inherit', env })
      : spawn('/bin/sh', ['-c', `${execPrefix(editor)}${editor} "$@"`, editor, file], { stdio: 'inherit', env });
  const name = editor.split(/\s+/)[0] ?? editor;
  // The terminal already delivers ^C to the editor, which decides what it means; SIGTERM/SIGHUP
  // sent to us alone are passed on so the editor does not outlive us.
  const forward = (signal: NodeJS.Signals) => {
    if (signal !== 'SIGINT') child.kill(signal);
  };
  await withSignalsHandled(
    forward,
    () =>
      new Promise<void>((resolve, reject) => {
        child.once('error', (error) => reject(editorFailed(fileName, `cannot start editor ${name}`, error)));
        child.once('exit', (code, signal) => {
          if (code === 0) resolve();
          else if (code === 127) reject(editorFailed(fileName, `editor ${name} not found`));
          else reject(editorFailed(fileName, `editor ${name} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`));
        });
      }),
  );
}

/**
 * Opens `content` in the user's editor and returns the edited text, or undefined when the file
 * was saved byte-identical (or not saved). A rejected edit (onInvalid) is re-opened on request or
 * aborted with EDITOR_FAILED; the caller has written nothing yet, so its file is untouched.
 */
export async function editInPrivateDir(options: EditOptions): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const editor = chooseEditor(env);
  const confirmReopen = options.confirmReopen ?? confirmReopenOnTerminal;
  const original = Buffer.from(options.content);
  return withPrivateTempDir(
    async (dir) => {
      const file = join(dir, basename(options.fileName) || 'secrets');
      await writePrivateFile(file, original);
      for (;;) {
        await runEditor(editor, file, options.fileName, env);
        let edited: Buffer;
        try {
          edited = await readFile(file);
        } catch (error) {
          throw editorFailed(options.fileName, 'the edited file is gone (was it saved elsewhere?)', error);
        }
        if (edited.equals(original)) return undefined;
        const text = edited.toString('utf8');
        const problem = options.onInvalid?.(text);
        if (problem === undefined) return text;
        if (!(await confirmReopen(problem))) {
          throw editorFailed(options.fileName, `edit aborted, nothing was written: ${problem}`);
        }
      }
    },
    { prefix: 'coffer-edit-', env },
  );
}
