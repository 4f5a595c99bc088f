// Bundles the CLI into dist/cli/ (ESM with code splitting: src/cli/main.ts imports each command's
// module dynamically, so a command loads only its own dependencies). Start-up time is most of what
// `get` and `verify` cost. `--analyze [COMMAND-MODULE]` also prints what loads at start-up and for
// one command module (e.g. `--analyze verify`): each chunk's size and its largest inputs.
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const at = process.argv.indexOf('--analyze');
const analyze = at > 0;

const result = await build({
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
  metafile: analyze,
  // ESM bundles have no require(); some dependencies still call it for node built-ins.
  banner: { js: "import { createRequire as __cofferRequire } from 'node:module'; const require = __cofferRequire(import.meta.url);" },
  logLevel: 'warning',
});

/** The chunks an output imports statically (what loading it loads), itself included. */
function staticClosure(outputs, start) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || !outputs[name]) return;
    seen.add(name);
    for (const item of outputs[name].imports) if (item.kind !== 'dynamic-import') visit(item.path);
  };
  visit(start);
  return seen;
}

if (analyze) {
  const { outputs } = result.metafile;
  writeFileSync('dist/cli/meta.json', JSON.stringify(result.metafile));
  const command = process.argv[at + 1]?.startsWith('--') ? undefined : process.argv[at + 1];
  const entry = Object.keys(outputs).find((name) => name.endsWith('/coffer.js'));
  const commandChunk = command && Object.keys(outputs).find((name) => outputs[name].entryPoint === `src/cli/commands/${command}.ts`);
  for (const [label, start] of [['start-up', entry], [`command module ${command}`, commandChunk]]) {
    if (!start) continue;
    const chunks = [...staticClosure(outputs, start), ...(label === 'start-up' ? [] : staticClosure(outputs, entry))];
    const unique = [...new Set(chunks)];
    const bytes = unique.reduce((sum, name) => sum + outputs[name].bytes, 0);
    console.log(`${label}: ${unique.length} chunks, ${(bytes / 1024).toFixed(0)} KiB`);
    for (const name of unique.sort((a, b) => outputs[b].bytes - outputs[a].bytes)) {
      const inputs = Object.entries(outputs[name].inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
      const top = inputs.slice(0, 3).map(([input, info]) => `${input.replace(/^.*node_modules\//, '')} ${(info.bytesInOutput / 1024).toFixed(0)}K`);
      console.log(`  ${(outputs[name].bytes / 1024).toFixed(0).padStart(5)} KiB  ${name.replace(/^.*\//, '')}  ${top.join(', ')}`);
    }
  }
  console.log('metafile: dist/cli/meta.json (https://esbuild.github.io/analyze/)');
}
