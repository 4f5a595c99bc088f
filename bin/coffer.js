#!/usr/bin/env node
// Loads the bundled CLI: CommonJS chunks (no ES module loader to start; see scripts/bundle.mjs),
// compiled with a V8 code cache. `npm run build` creates the bundle; bin/package.json makes this
// file CommonJS.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const bundle = path.join(__dirname, '..', 'dist', 'cli');
const entry = path.join(bundle, 'coffer.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('coffer: the CLI is not built yet; run `npm run build` in the coffer checkout\n');
  process.exit(1);
}

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
 * Most of a short command's time after node's own start-up is V8 compiling the bundle's functions.
 * Node 22+ caches that itself (module.enableCompileCache); on Node 20 each chunk is compiled
 * through vm.Script with the cached data of an earlier run, and chunks compiled without it have
 * their code (with every function the run compiled) written at exit. Entries are keyed by chunk
 * name, size and mtime (V8 checks only the source length), written atomically 0600, and removed a
 * month after they were written (the next run writes them again); any failure just means compiling
 * as usual.
 */
function enableCodeCache(dir) {
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache(dir);
    return;
  }
  const vm = require('node:vm');
  const readable = isPrivateDirectory(dir);
  const fresh = [];
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCache(content, filename) {
    if (path.dirname(filename) !== bundle) return compile.call(this, content, filename);
    const info = fs.statSync(filename);
    const file = path.join(dir, `${path.basename(filename, '.js')}-${info.size}-${Math.trunc(info.mtimeMs)}.v8`);
    let cachedData;
    if (readable) {
      try {
        cachedData = fs.readFileSync(file);
      } catch {
        cachedData = undefined;
      }
    }
    const script = new vm.Script(Module.wrap(content), { filename, cachedData });
    if (cachedData === undefined || script.cachedDataRejected) fresh.push({ file, script });
    const module = this;
    const localRequire = (id) => module.require(id);
    localRequire.resolve = (request) => Module._resolveFilename(request, module);
    localRequire.cache = Module._cache;
    localRequire.main = require.main;
    return script.runInThisContext({ displayErrors: true }).call(module.exports, module.exports, localRequire, module, filename, bundle);
  };
  process.once('exit', () => {
    if (fresh.length === 0) return;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!isPrivateDirectory(dir)) return;
      for (const { file, script } of fresh) {
        const temp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(temp, file);
      }
      const now = Date.now();
      for (const name of fs.readdirSync(dir)) {
        const stale = path.join(dir, name);
        if (now - fs.statSync(stale).mtimeMs > MONTH_MS) fs.rmSync(stale, { force: true });
      }
    } catch {
      // a cache is optional
    }
  });
}

const cacheDir = codeCacheDirectory(process.env);
if (cacheDir) enableCodeCache(cacheDir);
require(entry);
