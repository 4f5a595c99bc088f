// The `keys` and `files` inputs: selectors, globs over key paths, renaming, default names, lists.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandFiles, splitList } from '../../action/src/files.js';
import type { PlainValue } from '../../src/format/tree.js';
import { defaultName, type Leaf, listLeaves, parseSelectors, selectValues } from '../../action/src/selection.js';

const plain: PlainValue = new Map<string, PlainValue>([
  ['db', new Map<string, PlainValue>([['password', 'p1'], ['user', 'u1'], ['a.b', 'dotted']])],
  ['stripe', new Map<string, PlainValue>([['secret_key', 's1'], ['nested', new Map<string, PlainValue>([['password', 'p2']])]])],
  ['hosts', ['h0', 'h1']],
  ['port', 5432n],
  ['debug', true],
]);
const leaves: Leaf[] = listLeaves('a.yaml', plain, undefined);
const names = (keys: string, prefix = '') => selectValues(leaves, parseSelectors(keys), prefix).values.map((item) => `${item.name}=${item.value}`);

describe('key selection', () => {
  it('lists every scalar with its dotted key path (dots in keys escaped)', () => {
    expect(leaves.map((leaf) => leaf.keyPath)).toEqual(['db.password', 'db.user', 'db.a\\.b', 'stripe.secret_key', 'stripe.nested.password', 'hosts.0', 'hosts.1', 'port', 'debug']);
    expect(leaves.find((leaf) => leaf.keyPath === 'debug')?.trivial).toBe(true);
  });

  it('selects values, maps, * within a key and ** across keys; renames one value', () => {
    expect(names('db.password=DB_PW')).toEqual(['DB_PW=p1']);
    expect(names('stripe')).toEqual(['STRIPE_SECRET_KEY=s1', 'STRIPE_NESTED_PASSWORD=p2']);
    expect(names('stripe.*')).toEqual(['STRIPE_SECRET_KEY=s1']);
    expect(names('**.password')).toEqual(['DB_PASSWORD=p1', 'STRIPE_NESTED_PASSWORD=p2']);
    expect(names('db.a\\.b, hosts.1, port', 'APP_')).toEqual(['APP_DB_A_B=dotted', 'APP_HOSTS_1=h1', 'APP_PORT=5432']);
    expect(names('')).toHaveLength(leaves.length);
  });

  it('reports selectors that match nothing and refuses ambiguous renames and clashing names', () => {
    expect(selectValues(leaves, parseSelectors('db.nope, x.*'), '').unmatched).toEqual(['db.nope', 'x.*']);
    expect(() => names('db=DB')).toThrow(/db=DB selects 3 values; a new name needs exactly one/);
    expect(() => names('db.password=X, db.user=X')).toThrow(/X would be exported twice/);
    expect(() => names('db.password=1BAD')).toThrow(/not a valid variable name/);
    expect(() => names('db.password', '9')).toThrow(/cannot be exported as "9DB_PASSWORD"/);
  });

  it('makes default names from key paths', () => {
    expect(defaultName('db.password')).toBe('DB_PASSWORD');
    expect(defaultName('0.first-key')).toBe('_0_FIRST_KEY');
  });
});

describe('files', () => {
  it('splits lists on lines and commas, but not inside {a,b}', () => {
    expect(splitList('a.yaml, b.yaml\n# comment\nsecrets/{api,web}.env\n\n')).toEqual(['a.yaml', 'b.yaml', 'secrets/{api,web}.env']);
  });

  it('expands globs below their literal directory, sorted, never into .git or node_modules; reports what matched nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-action-files-'));
    try {
      for (const path of ['secrets/b.yaml', 'secrets/a.yaml', 'secrets/deep/c.yaml', 'node_modules/x/secrets.yaml', '.git/x.yaml', 'other.yaml']) {
        mkdirSync(join(dir, path, '..'), { recursive: true });
        writeFileSync(join(dir, path), '');
      }
      expect(await expandFiles(['secrets/*.yaml', 'other.yaml', './secrets/a.yaml'], dir)).toEqual({ files: ['secrets/a.yaml', 'secrets/b.yaml', 'other.yaml'], unmatched: [] });
      expect((await expandFiles(['**/*.yaml'], dir)).files).toEqual(['other.yaml', 'secrets/a.yaml', 'secrets/b.yaml', 'secrets/deep/c.yaml']);
      expect(await expandFiles(['missing.yaml', 'nothing/*.json'], dir)).toEqual({ files: [], unmatched: ['missing.yaml', 'nothing/*.json'] });
      await expect(expandFiles(['secrets/{a'], dir)).rejects.toThrow(/files: secrets\/\{a: a `\{` has no closing `\}`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
