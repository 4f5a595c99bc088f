import { describe, expect, test } from 'vitest';
import { type BinaryDocument, detectStore, getStore, parseBinary } from '../../../src/format/stores/index.js';
import type { PlainMap } from '../../../src/format/tree.js';

describe('store selection', () => {
  test.each([
    ['a/b.yaml', 'yaml'],
    ['x.yml', 'yaml'],
    ['x.json', 'json'],
    ['.env', 'dotenv'],
    ['prod.env', 'dotenv'],
    ['x.ini', 'ini'],
    ['x.YAML', 'binary'],
    ['x.txt', 'binary'],
    ['dir.yaml/file', 'binary'],
  ])('%s -> %s', (path, store) => {
    expect(detectStore(path)).toBe(store);
  });

  test('unknown store names are refused', () => {
    expect(() => getStore('toml' as never)).toThrow(expect.objectContaining({ code: 'UNKNOWN_STORE' }));
  });
});

describe('binary store', () => {
  test('plaintext bytes are one leaf data; encrypted form is SOPS JSON', () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x41]);
    const document = parseBinary(bytes);
    const seen: unknown[] = [];
    document.mapLeaves((leaf) => {
      seen.push([leaf.keyPath, leaf.value]);
      return 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]';
    });
    expect(seen).toEqual([[['data'], bytes]]);
    document.writeMetadata(new Map([['version', '3.13.1']]));
    const text = document.serialize();
    expect(text).toBe('{\n\t"data": "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]",\n\t"sops": {\n\t\t"version": "3.13.1"\n\t}\n}\n');
    const reread = getStore('binary').parse(text) as BinaryDocument;
    expect(reread.readMetadata()).toEqual(new Map([['version', '3.13.1']]));
    reread.removeMetadata();
    reread.mapLeaves(() => bytes);
    expect(reread.serializeBytes()).toEqual(bytes);
    reread.setValue(['data'], 'text\n');
    expect(reread.serialize()).toBe('text\n');
    expect(reread.toPlain()).toEqual([new Map([['data', 'text\n']])]);
  });

  test('fromPlain takes one map with data', () => {
    expect(getStore('binary').fromPlain([new Map([['data', 'x']]) as PlainMap]).serialize()).toBe('x');
    expect(() => getStore('binary').fromPlain([new Map([['other', 'x']]) as PlainMap])).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_VALUE' }),
    );
  });
});
