#!/usr/bin/env node
// The `coffer` command: loads the bundled CLI, CommonJS chunks (no ES module loader to start; see
// scripts/bundle.mjs) compiled with a V8 code cache. `npm run build` creates the bundle. A .cjs
// file, so node starts it without looking up package.json to learn its module kind.
const fs = require('node:fs');
const path = require('node:path');
// the class behind `module`: requiring node:module would also load the ES module loader's code
const Module = module.constructor;

const bundle = path.join(__dirname, '..', 'dist', 'cli');
const entry = path.join(bundle, 'coffer.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('coffer: the CLI is not built yet; run `npm run build` in the coffer checkout\n');
  process.exit(1);
}

// These two mirror userCacheDirectory and isOwnedAndPrivate in src/io/user-cache.ts: this file runs
// before the bundle is loaded, and loading it for them would cost the start-up the cache saves.

/** Where compiled code is kept: the user cache directory, per node version (V8 rejects another's anyway). */
function codeCacheDirectory(env) {
  if (env.COFFER_NO_CODE_CACHE) return undefined;
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : env.HOME && path.isAbsolute(env.HOME) ? path.join(env.HOME, '.cache') : undefined;
  return base && path.join(base, 'coffer', `code-${process.version}-${process.arch}`);
}

/** Compiled code runs as this user's code: only from a directory this user owns and nobody else can write. */
function isPrivateDirectory(dir) {
  try {
    const info = fs.statSync(dir);
    const uid = process.getuid?.();
    return info.isDirectory() && (uid === undefined || (info.uid === uid && (info.mode & 0o022) === 0));
  } catch {
    return false;
  }
}

const MONTH_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Most of a short command's time after node's own start-up is V8 compiling the bundle's functions
 * and node resolving each chunk (stat, realpath, package.json type lookups). The chunks are loaded
 * here instead: a chunk's require('./chunk-X.js') goes straight to its file, and each chunk is
 * compiled through vm.Script with the cached data of an earlier run; chunks compiled without it
 * have their code (with every function the run compiled) written at exit. Entries are keyed by
 * chunk name, length and build digest (V8 checks only the source length), written atomically 0600 in a
 * private directory, and removed a month after they were written (the next run writes them
 * again); any failure just means compiling as usual. Node 22+ caches compiled code itself
 * (module.enableCompileCache), so there the bundle loads the usual way.
 */
function loadBundle(cacheDir) {
  if (cacheDir && Number(process.versions.node.split('.')[0]) >= 22) {
    const { enableCompileCache } = require('node:module');
    if (typeof enableCompileCache === 'function') {
      enableCompileCache(cacheDir);
      require(entry);
      return;
    }
  }
  const vm = require('node:vm');
  const readable = cacheDir !== undefined && isPrivateDirectory(cacheDir);
  const fresh = [];
  const chunks = new Map();
  const paths = Module._nodeModulePaths(bundle);
  // scripts/bundle.mjs writes a digest of every chunk to build-id: with the chunk's name and length
  // it keys the chunk's entry (file mtimes cannot: npm packs every file with the same one). No
  // build-id, no cache.
  let build;
  try {
    build = fs.readFileSync(`${bundle}${path.sep}build-id`, 'latin1').trim() || undefined;
  } catch {
    build = undefined;
  }
  const cached = cacheDir !== undefined && build !== undefined;
  const compile = (content, name, filename) => {
    let cacheFile;
    let cachedData;
    if (cached) {
      cacheFile = `${cacheDir}${path.sep}${name.slice(0, -3)}-${content.length}-${build}.v8`;
      if (readable) {
        try {
          cachedData = fs.readFileSync(cacheFile);
        } catch {
          cachedData = undefined;
        }
      }
    }
    const script = new vm.Script(Module.wrap(content), { filename, cachedData });
    if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) fresh.push({ file: cacheFile, script });
    return script;
  };
  /** A chunk by file name (`coffer.js`, `chunk-X.js`): its require('./chunk-Y.js') comes back here. */
  const load = (name) => {
    const known = chunks.get(name);
    if (known) return known.exports;
    const filename = `${bundle}${path.sep}${name}`;
    const chunk = new Module(filename, module);
    chunk.filename = filename;
    chunk.paths = paths;
    chunks.set(name, chunk);
    const localRequire = (id) => (id.startsWith('./') && !id.includes('/', 2) ? load(id.slice(2)) : chunk.require(id));
    localRequire.resolve = (request) => Module._resolveFilename(request, chunk);
    localRequire.cache = Module._cache;
    localRequire.main = require.main;
    const script = compile(fs.readFileSync(filename, 'utf8'), name, filename);
    script.runInThisContext({ displayErrors: true }).call(chunk.exports, chunk.exports, localRequire, chunk, filename, bundle);
    chunk.loaded = true;
    return chunk.exports;
  };
  process.once('exit', () => {
    if (fresh.length === 0 || !cacheDir) return;
    try {
      fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      if (!isPrivateDirectory(cacheDir)) return;
      for (const { file, script } of fresh) {
        const temp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(temp, file);
      }
      const now = Date.now();
      for (const name of fs.readdirSync(cacheDir)) {
        const stale = path.join(cacheDir, name);
        if (now - fs.statSync(stale).mtimeMs > MONTH_MS) fs.rmSync(stale, { force: true });
      }
    } catch {
      // a cache is optional
    }
  });
  load(path.basename(entry));
}

loadBundle(codeCacheDirectory(process.env));
