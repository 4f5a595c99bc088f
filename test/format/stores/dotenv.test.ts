import { describe, expect, test } from 'vitest';
import { getStore } from '../../../src/format/stores/index.js';
import type { PlainMap } from '../../../src/format/tree.js';
import { collectLeaves, replaceLeaves } from './collect.js';

const dotenv = getStore('dotenv');

describe('dotenv store', () => {
  test('SOPS grammar: first =, no trimming, no quotes, \\n escapes, comments', () => {
    const document = dotenv.parse('#comment\nA=1=2\nB = "q" \nC=line\\nbreak\n\nD=\n');
    expect(document.toPlain()[0]).toEqual(
      new Map([
        ['A', '1=2'],
        ['B ', ' "q" '],
        ['C', 'line\nbreak'],
        ['D', ''],
      ]),
    );
    expect(collectLeaves(document).map((leaf) => [leaf.path, leaf.value, leaf.comment, leaf.stack])).toEqual([
      ['', 'comment', true, []],
      ['A', '1=2', false, ['comment']],
      ['B ', ' "q" ', false, []],
      ['C', 'line\nbreak', false, []],
      ['D', '', false, []],
    ]);
  });

  test('parse -> serialize is byte-identical; one replacement changes one line', () => {
    const text = '# head\nA=1\nB=x\\ny\n';
    const document = dotenv.parse(text);
    expect(document.serialize()).toBe(text);
    replaceLeaves(document, (path) => (path === 'A' ? 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]' : undefined));
    document.mapLeaves((leaf) => (leaf.isComment ? 'ENC[c]' : undefined));
    expect(document.serialize()).toBe('#ENC[c]\nA=ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nB=x\\ny\n');
  });

  test('metadata is flattened, sorted and appended; read back as a tree', () => {
    const document = dotenv.parse('A=1\n');
    const metadata = new Map<string, unknown>([
      ['version', '3.13.1'],
      ['age', [new Map([['recipient', 'age1x'], ['enc', 'line1\nline2\n']])]],
      ['lastmodified', '2024-03-25T22:08:10Z'],
    ]) as PlainMap;
    document.writeMetadata(metadata);
    const text = document.serialize();
    expect(text).toBe(
      'A=1\nsops_age__list_0__map_enc=line1\\nline2\\n\nsops_age__list_0__map_recipient=age1x\nsops_lastmodified=2024-03-25T22:08:10Z\nsops_version=3.13.1\n',
    );
    const reread = dotenv.parse(text);
    expect(reread.toPlain()[0]).toEqual(new Map([['A', '1']]));
    expect(reread.readMetadata()).toEqual(
      new Map<string, unknown>([
        ['age', [new Map([['enc', 'line1\nline2\n'], ['recipient', 'age1x']])]],
        ['lastmodified', '2024-03-25T22:08:10Z'],
        ['version', '3.13.1'],
      ]),
    );
    reread.removeMetadata();
    expect(reread.serialize()).toBe('A=1\n');
  });

  test('plaintext keys starting with sops_ are refused', () => {
    expect(() => dotenv.fromPlain([new Map([['sops_x', '1']])])).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VALUE' }));
    expect(() => dotenv.parse('A=1\n').setValue(['sops_version'], 'x')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VALUE' }));
  });

  test('only top-level scalars', () => {
    const document = dotenv.parse('A=1\n');
    expect(() => document.setValue(['A', 'b'], 'x')).toThrow(expect.objectContaining({ code: 'INVALID_KEY_PATH' }));
    expect(() => document.setValue(['B'], new Map())).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VALUE' }));
    expect(() => dotenv.fromPlain([new Map([['A', [1n]]])])).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VALUE' }));
    document.setValue(['B'], 'two\nlines');
    expect(document.getValue(['B'])).toBe('two\nlines');
    expect(document.deleteValue(['A'])).toBe(true);
    expect(document.serialize()).toBe('B=two\\nlines\n');
  });

  test('a line without = is a PARSE_ERROR naming the line, not its content', () => {
    expect(() => dotenv.parse('A=1\nhunter2\n', 'x.env')).toThrow(
      expect.objectContaining({ code: 'PARSE_ERROR', data: { file: 'x.env', line: 2, column: 1 }, message: expect.not.stringContaining('hunter2') }),
    );
  });
});
