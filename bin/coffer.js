#!/usr/bin/env node
// `node bin/coffer.js` keeps working; the installed command runs bin/coffer.cjs directly (a .cjs
// file starts without node looking up package.json to decide what kind of module it is).
require('./coffer.cjs');
