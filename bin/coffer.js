#!/usr/bin/env node
// Loads the bundled CLI (CommonJS chunks, so no ES module loader starts: see scripts/bundle.mjs);
// `npm run build` creates it. bin/package.json makes this file CommonJS too.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'cli', 'coffer.js');
if (!existsSync(bundle)) {
  process.stderr.write('coffer: the CLI is not built yet; run `npm run build` in the coffer checkout\n');
  process.exit(1);
}
require(bundle);
