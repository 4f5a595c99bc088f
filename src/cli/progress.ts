// A one-line progress bar on stderr for long runs over many files, on terminals only: never in
// pipes, CI logs, --quiet or --json. Lines the command prints meanwhile clear the bar first.
import type { CliContext } from './context.js';

export interface Progress {
  /** Draws the bar for the next item (`label` is a file name, never a value). */
  tick(label: string): void;
  /** Clears the bar and gives the stream back (an error written before this also clears it). */
  done(): void;
}

const NO_PROGRESS: Progress = { tick: () => {}, done: () => {} };
const WIDTH = 24;

/** Whether decorations (colour, bars) may be written to this stream. */
export function isDecoratedTerminal(context: CliContext, stream: { isTTY?: boolean }): boolean {
  return Boolean(stream.isTTY) && context.env.TERM !== 'dumb' && context.env.CI === undefined;
}

export function startProgress(context: CliContext, total: number, title: string, options: { quiet?: boolean; json?: boolean } = {}): Progress {
  const stream = context.stderr;
  if (total < 2 || options.quiet || options.json || !isDecoratedTerminal(context, stream)) return NO_PROGRESS;
  const previous = stream.write;
  const hadOwnWrite = Object.hasOwn(stream, 'write');
  const write = stream.write.bind(stream) as (chunk: string) => boolean;
  let shown = false;
  let finished = false;
  let count = 0;
  const clear = () => {
    if (shown) write('\r\u001b[K');
    shown = false;
  };
  // The command's own lines go through the same stream: clear the bar before each of them.
  const patched = ((chunk: unknown, ...rest: unknown[]) => {
    clear();
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  stream.write = patched;
  const done = () => {
    if (finished) return;
    finished = true;
    clear();
    if (stream.write !== patched) return;
    if (hadOwnWrite) stream.write = previous;
    else delete (stream as { write?: unknown }).write;
  };
  return {
    tick(label: string) {
      if (finished) return;
      count++;
      const filled = Math.round((WIDTH * (count - 1)) / total);
      const columns = (stream as { columns?: number }).columns ?? 80;
      const text = `${title} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${count}/${total} ${label}`;
      clear();
      write(text.slice(0, Math.max(10, columns - 1)));
      shown = true;
    },
    done,
  };
}
