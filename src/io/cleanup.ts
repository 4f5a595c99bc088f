// Last-chance cleanup of private temp dirs and lock files when the process dies early: on process
// exit, and on SIGINT/SIGTERM/SIGHUP when that signal would otherwise kill us. A cleanup must be
// synchronous (signal and exit handlers cannot await).

const handledSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type HandledSignal = (typeof handledSignals)[number];

const cleanups = new Set<() => void>();
let installed = false;
/** How many withSignalsHandled scopes are active: while any is, signals do not end the process. */
let signalOwners = 0;

function runCleanups(): void {
  // Newest first: a lock taken inside a private dir scope is released before the dir goes.
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // Best effort: one failing cleanup must not stop the others.
    }
  }
}

function onSignal(signal: HandledSignal): void {
  // A running child we forward signals to, or an editor session, owns the signal: the process
  // lives on and the normal `finally` path cleans up.
  if (signalOwners > 0) return;
  runCleanups();
  uninstall();
  // Re-raise with the default disposition so the exit status is the conventional 128+n, unless
  // the application has listeners of its own: they got this signal too and decide what happens.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

const signalListeners = new Map<HandledSignal, () => void>(
  handledSignals.map((signal) => [signal, () => onSignal(signal)]),
);

function install(): void {
  if (installed) return;
  installed = true;
  for (const [signal, listener] of signalListeners) process.on(signal, listener);
  process.on('exit', runCleanups);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const [signal, listener] of signalListeners) process.removeListener(signal, listener);
  process.removeListener('exit', runCleanups);
}

/**
 * Registers `cleanup` to run if the process exits or is killed by a catchable signal before the
 * returned function is called. Calling the returned function unregisters without running it.
 */
export function registerCleanup(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) uninstall();
  };
}

/**
 * Keeps the process alive through SIGINT/SIGTERM/SIGHUP while `fn` runs, handing each signal to
 * `onSignal` instead (forward it to a child, or ignore it while an editor owns the terminal).
 */
export async function withSignalsHandled<T>(
  onSignal: (signal: NodeJS.Signals) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const listeners = handledSignals.map((signal) => {
    const listener = () => onSignal(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  signalOwners++;
  try {
    return await fn();
  } finally {
    signalOwners--;
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  }
}
