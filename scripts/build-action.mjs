// Bundles the GitHub Action into action/dist/index.js: ONE file (main and post step) committed to
// the repository, because the runner executes it straight from a checkout with no npm install.
// Deterministic: no source map, no timestamps, no absolute paths; CI rebuilds it and fails on a diff.
// `--outfile PATH` builds elsewhere (CI compares that build with the committed one).
import { build } from 'esbuild';

const at = process.argv.indexOf('--outfile');
const outfile = at > 0 ? process.argv[at + 1] : 'action/dist/index.js';

await build({
  entryPoints: ['action/src/main.ts'],
  outfile,
  bundle: true,
  splitting: false,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  // full minification: a quarter smaller, so less to read and parse on every cold start
  minify: true,
  // some code compares class names (yaml's Pair), so names survive minification
  keepNames: true,
  legalComments: 'eof',
  // ESM bundles have no require(); some dependencies still call it for node built-ins.
  banner: { js: "import { createRequire as __cofferRequire } from 'node:module'; const require = __cofferRequire(import.meta.url);" },
  logLevel: 'warning',
});
