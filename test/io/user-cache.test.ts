import { execFileSync } from 'node:child_process';
// The one way caches are written: whole or not at all, private to the user.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOwnedAndPrivate, readCacheFile, writeCacheFile } from '../../src/io/user-cache.js';

describe('writeCacheFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-user-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a 0700 directory and a 0600 file, replacing an earlier one whole', () => {
    const path = join(dir, 'cache', 'coffer', 'entry.json');
    expect(writeCacheFile(path, '{"a":1}')).toBe(true);
    expect(writeCacheFile(path, '{"a":2}')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('{"a":2}');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'cache', 'coffer')).mode & 0o777).toBe(0o700);
    expect(isOwnedAndPrivate(statSync(path))).toBe(true);
    // no temp file left behind
    expect(readdirSync(join(dir, 'cache', 'coffer'))).toEqual(['entry.json']);
  });

  it('says false and leaves nothing when the directory cannot be made', () => {
    writeFileSync(join(dir, 'file'), 'x');
    expect(writeCacheFile(join(dir, 'file', 'coffer', 'entry.json'), '{}')).toBe(false);
    expect(readdirSync(dir)).toEqual(['file']);
  });
});

describe('readCacheFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-user-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the JSON of a file writeCacheFile wrote', () => {
    const path = join(dir, 'coffer', 'entry.json');
    writeCacheFile(path, '{"a":[1,"b"]}');
    expect(readCacheFile(path)).toEqual({ a: [1, 'b'] });
  });

  it('ignores a missing or damaged file, and one another user could have written', () => {
    expect(readCacheFile(join(dir, 'missing.json'))).toBeUndefined();
    writeFileSync(join(dir, 'damaged.json'), '{"a":', { mode: 0o600 });
    expect(readCacheFile(join(dir, 'damaged.json'))).toBeUndefined();
    const shared = join(dir, 'shared.json');
    writeFileSync(shared, '{"a":1}');
    chmodSync(shared, 0o666);
    expect(readCacheFile(shared)).toBeUndefined();
    chmodSync(shared, 0o600);
    expect(readCacheFile(shared)).toEqual({ a: 1 });
  });

  it('does not wait on a FIFO put where a cache file belongs, and reads no directory', () => {
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    // a blocking open would hang here until a writer came
    expect(readCacheFile(fifo)).toBeUndefined();
    expect(readCacheFile(dir)).toBeUndefined();
  });
});

