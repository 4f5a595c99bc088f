#!/usr/bin/env node
// Loads the bundled CLI (one file, so start-up stays fast); `npm run build` creates it.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/coffer.js', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('coffer: the CLI is not built yet; run `npm run build` in the coffer checkout\n');
  process.exit(1);
}
await import(bundle.href);
