// Bundles the CLI into dist/cli/ as CommonJS chunks. esbuild splits the code (src/cli/main.ts
// imports each command's module dynamically, so a command loads only its own dependencies), which
// it can do only in ES module format; each chunk is then rewritten to CommonJS. Why: start-up is
// most of what `get`, `verify` and `log` cost, and starting node's ES module loader alone costs
// ~7 ms a run (measured: the same chunks as CommonJS start that much faster). dist/cli/package.json
// says the directory is CommonJS. commander's module requires child_process at load time for
// subcommand executables, which coffer never uses: it gets a lazy stand-in.
//
// `node scripts/bundle.mjs [--analyze [COMMAND-MODULE]]` builds into dist/cli/; with --analyze it
// also prints what loads at start-up and for one command module (e.g. `--analyze verify`): each
// chunk's size and its largest inputs. Other scripts (bench/) import bundleCli to build the same way.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, transform } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Resolves `child_process` to a module that requires the real one on first use. */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('node_modules/commander/') ? { path: 'lazy-child-process', namespace: 'coffer-lazy' } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'coffer-lazy' }, () => ({
      contents: "let real; module.exports = new Proxy({}, { get: (_, name) => (real ??= require('node:child_process'))[name] });",
      loader: 'js',
    }));
  },
};

/** Builds the CLI into `outdir` (emptied first); returns esbuild's metafile. */
export async function bundleCli(outdir = join(root, 'dist', 'cli')) {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { coffer: 'src/cli/bin.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'linked',
    metafile: true,
    plugins: [lazyChildProcess],
    logLevel: 'warning',
  });
  // the build's identity for bin/coffer.cjs's code cache: a digest of every chunk (mtimes say
  // nothing once npm has packed the files, and V8 checks a cached script only by its length)
  const digest = createHash('sha256');
  for (const name of readdirSync(outdir).filter((file) => file.endsWith('.js')).sort()) {
    const path = join(outdir, name);
    const converted = await transform(readFileSync(path, 'utf8'), {
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      minifySyntax: true,
      minifyWhitespace: true,
      // import('./chunk.js') of a sibling chunk becomes a require() inside a promise
      supported: { 'dynamic-import': false },
      logLevel: 'warning',
    });
    writeFileSync(path, converted.code);
    digest.update(`${name}\0${converted.code}\0`);
  }
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  writeFileSync(join(outdir, 'build-id'), `${digest.digest('hex').slice(0, 16)}\n`);
  return result.metafile;
}

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

function analyze(metafile, command) {
  const { outputs } = metafile;
  writeFileSync(join(root, 'dist/cli/meta.json'), JSON.stringify(metafile));
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const metafile = await bundleCli();
  const at = process.argv.indexOf('--analyze');
  if (at > 0) {
    mkdirSync(join(root, 'dist/cli'), { recursive: true });
    analyze(metafile, process.argv[at + 1]?.startsWith('--') ? undefined : process.argv[at + 1]);
  }
}
