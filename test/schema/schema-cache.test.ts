import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadUserSchema, schemaCacheDirectory } from '../../src/schema/schema-cache.js';

const SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['db'],
  additionalProperties: false,
  properties: {
    db: {
      type: 'object',
      properties: {
        host: { type: 'string', format: 'hostname' },
        port: { type: 'integer', minimum: 1 },
        password: { type: 'string', minLength: 16, 'x-coffer': { kind: 'password' } },
        tags: { type: 'array', uniqueItems: true },
      },
    },
  },
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coffer-schema-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entries = (directory: string) => readdirSync(directory).filter((name) => name.endsWith('.json'));

/** What a validator says about a few instances: the verdicts and the errors' paths and keywords. */
function verdicts(validate: ((data: unknown) => boolean) & { errors?: { instancePath: string; keyword: string }[] | null }) {
  const instances = [
    { db: { host: 'db.internal', port: 5432, password: 'x'.repeat(16), tags: ['a', 'b'] } },
    { db: { host: 'not a host!', port: 0, password: 'short', tags: ['a', 'a'] } },
    { db: {}, extra: true },
    {},
  ];
  return instances.map((instance) => [validate(instance), (validate.errors ?? []).map((error) => `${error.instancePath} ${error.keyword}`)]);
}

describe('compiled user schemas cached across runs', () => {
  it('writes an entry (0600 in a 0700 directory) and a second load gives validators that judge alike', async () => {
    const directory = join(dir, 'cache', 'coffer');
    const first = await loadUserSchema(SCHEMA, 'service.schema.json', { directory, values: true });
    const [name] = entries(directory);
    expect(name).toMatch(/^schema-[0-9a-f]{64}\.json$/);
    if (process.platform !== 'win32') {
      expect(statSync(directory).mode & 0o777).toBe(0o700);
      expect(statSync(join(directory, name!)).mode & 0o777).toBe(0o600);
    }
    const second = await loadUserSchema(SCHEMA, 'other.json', { directory, values: true });
    expect(second.file).toBe('other.json');
    expect(second.root).toEqual(first.root);
    expect(second.validateShape).not.toBe(first.validateShape);
    expect(verdicts(second.validateShape)).toEqual(verdicts(first.validateShape));
    expect(verdicts(second.validateValues)).toEqual(verdicts(first.validateValues));
    expect(verdicts(second.validateValues)[1]![0]).toBe(false);
  });

  it('uses the entry instead of compiling: a changed entry is what runs', async () => {
    const directory = join(dir, 'coffer');
    await loadUserSchema(SCHEMA, 's.json', { directory, values: false });
    const [name] = entries(directory);
    const path = join(directory, name!);
    const entry = JSON.parse(readFileSync(path, 'utf8')) as { shape: string };
    entry.shape = '"use strict";module.exports = function accept() { return true; };';
    writeFileSync(path, JSON.stringify(entry), { mode: 0o600 });
    const loaded = await loadUserSchema(SCHEMA, 's.json', { directory, values: false });
    expect(loaded.validateShape({})).toBe(true);
    expect(() => loaded.validateValues).toThrow(/values: true/);
  });

  it('ignores entries others can write, and corrupt ones, compiling instead', async () => {
    if (process.platform === 'win32') return;
    const directory = join(dir, 'coffer');
    await loadUserSchema(SCHEMA, 's.json', { directory, values: false });
    const path = join(directory, entries(directory)[0]!);
    writeFileSync(path, JSON.stringify({ root: {}, shape: '"use strict";module.exports = function accept() { return true; };' }));
    chmodSync(path, 0o666);
    const untrusted = await loadUserSchema(SCHEMA, 's.json', { directory, values: false });
    expect(untrusted.validateShape({})).toBe(false);
    writeFileSync(path, '{ not json');
    chmodSync(path, 0o600);
    const corrupt = await loadUserSchema(SCHEMA, 's.json', { directory, values: false });
    expect(corrupt.validateShape({})).toBe(false);
    // the corrupt entry was replaced by a good one
    expect(JSON.parse(readFileSync(path, 'utf8'))).toHaveProperty('shape');
  });

  it('falls back silently when the cache directory cannot be created', async () => {
    writeFileSync(join(dir, 'file'), 'x');
    const schema = await loadUserSchema(SCHEMA, 's.json', { directory: join(dir, 'file', 'coffer'), values: true });
    expect(schema.validateShape({ db: {} })).toBe(true);
    expect(schema.validateValues({})).toBe(false);
  });

  it('reports an invalid schema as compileUserSchema does, and caches nothing', async () => {
    const directory = join(dir, 'coffer');
    await expect(loadUserSchema('{"type": "objekt"}', 'bad.json', { directory, values: false })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(() => readdirSync(directory)).toThrow();
  });

  it('lives in $XDG_CACHE_HOME/coffer, else ~/.cache/coffer', () => {
    expect(schemaCacheDirectory({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/a' })).toBe(join('/x/cache', 'coffer'));
    expect(schemaCacheDirectory({ XDG_CACHE_HOME: 'relative', HOME: '/home/a' })).toBe(join('/home/a', '.cache', 'coffer'));
    expect(schemaCacheDirectory({})).toBeUndefined();
  });
});
