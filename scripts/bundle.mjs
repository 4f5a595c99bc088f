// Bundles the CLI into dist/cli/ (ESM with code splitting, so rarely used dependencies such as
// age-encryption load only when a command needs them). Start-up time is most of what `get` costs.
import { build } from 'esbuild';

await build({
  entryPoints: { coffer: 'src/cli/bin.ts' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'linked',
  sourcemap: 'linked',
  // ESM bundles have no require(); some dependencies still call it for node built-ins.
  banner: { js: "import { createRequire as __cofferRequire } from 'node:module'; const require = __cofferRequire(import.meta.url);" },
  logLevel: 'warning',
});
