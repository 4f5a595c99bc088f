// Preloaded into the Action's process by the tests (node --require): before every file write it
// prints a marker line with the path and the bytes, on the same stdout as the workflow commands,
// so a test sees one ordered stream of log lines and file writes. Linux pipes are synchronous.
const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');

function trace(path, data) {
  const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength ?? data.length);
  fs.writeSync(1, `::coffer-trace-write::${String(path)}::${bytes.toString('base64')}\n`);
}

for (const name of ['appendFileSync', 'writeFileSync']) {
  const original = fs[name];
  fs[name] = function traced(path, data, ...rest) {
    trace(path, data);
    return original.call(this, path, data, ...rest);
  };
}
for (const name of ['appendFile', 'writeFile']) {
  const original = fs.promises[name];
  fs.promises[name] = function traced(path, data, ...rest) {
    trace(path, data);
    return original.call(this, path, data, ...rest);
  };
}
syncBuiltinESMExports();
