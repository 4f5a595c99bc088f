// The `coffer` executable: runs the CLI and sets the exit code (the only process-level exit).
import { nodeCliContext } from './context.js';
import { runCli } from './main.js';

const context = nodeCliContext();

// The command is done and its output written: exit now. Left to itself, node would keep running
// the event loop for V8's own delayed tasks (garbage collector and compiler steps) before exiting,
// which measured 16-64 ms of a 180 ms cold `coffer verify`, all after the report was printed.
const exit = (code: number) => {
  process.exitCode = code;
  Promise.all([context.stdout.drain(), context.stderr.drain()]).then(() => process.exit());
};

runCli(process.argv.slice(2), context).then(exit, (error: unknown) => {
  process.stderr.write(`coffer: unexpected error (this is a bug): ${String(error)}\n`);
  exit(1);
});
