// The `coffer` executable: runs the CLI and sets the exit code (the only process-level exit).
import { runCli } from './main.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`coffer: unexpected error (this is a bug): ${String(error)}\n`);
    process.exitCode = 1;
  },
);
