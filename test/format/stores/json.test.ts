import { describe, expect, test } from 'vitest';
import { getStore } from '../../../src/format/stores/index.js';
import type { PlainMap } from '../../../src/format/tree.js';
import { collectLeaves, parseError, replaceLeaves } from './collect.js';

const json = getStore('json');

describe('JSON store', () => {
  test.each([
    ['tabs', '{\n\t"a": 1,\n\t"b": {\n\t\t"c": [true, null]\n\t}\n}\n'],
    ['2 spaces', '{\n  "a": "x",\n  "list": [\n    1.50,\n    "\\u00e9"\n  ]\n}'],
    ['irregular spacing', '{"a" :1,   "b":{ }, "c" : [ ]  }\n\n'],
  ])('parse -> serialize is byte-identical: %s', (_name, text) => {
    const document = json.parse(text);
    expect(document.serialize()).toBe(text);
    document.mapLeaves(() => undefined);
    expect(document.serialize()).toBe(text);
  });

  test('replacing values splices them into the original layout', () => {
    const text = '{\n  "a":   "x",\n  "n": {"deep": 1}, "keep": 1.50\n}';
    const document = json.parse(text);
    replaceLeaves(document, (path) => (path === 'n:deep' ? 'ENC[<&>]' : path === 'a' ? 2.0 : undefined));
    expect(document.serialize()).toBe('{\n  "a":   2.0,\n  "n": {"deep": "ENC[\\u003c\\u0026\\u003e]"}, "keep": 1.50\n}');
  });

  test('structural changes re-serialise with the detected indentation and sops last', () => {
    const document = json.parse('{\n  "b": 1,\n  "a": []\n}\n');
    document.writeMetadata(new Map<string, unknown>([['kms', []], ['version', '3.13.1']]) as PlainMap);
    expect(document.serialize()).toBe('{\n  "b": 1,\n  "a": [],\n  "sops": {\n    "kms": [],\n    "version": "3.13.1"\n  }\n}\n');
    const reread = json.parse(document.serialize());
    expect(reread.readMetadata()).toEqual(new Map<string, unknown>([['kms', []], ['version', '3.13.1']]));
    reread.removeMetadata();
    expect(reread.serialize()).toBe('{\n  "b": 1,\n  "a": []\n}\n');
  });

  test('fromPlain writes SOPS layout: tabs, Go escapes, empty collections', () => {
    const document = json.fromPlain([
      new Map<string, unknown>([
        ['s', '<a&b>\u2028\u0001\n"\\'],
        ['i', 7n],
        ['f', 3],
        ['e', new Map()],
        ['l', [1n, new Map([['k', null]])]],
      ]) as PlainMap,
    ]);
    expect(document.serialize()).toBe(
      '{\n\t"s": "\\u003ca\\u0026b\\u003e\\u2028\\u0001\\n\\"\\\\",\n\t"i": 7,\n\t"f": 3.0,\n\t"e": {},\n\t"l": [\n\t\t1,\n\t\t{\n\t\t\t"k": null\n\t\t}\n\t]\n}\n',
    );
  });

  test('numbers: int64 literals are ints, everything else floats', () => {
    const document = json.parse('{"a": 9223372036854775807, "b": 9223372036854775808, "c": 1.0, "d": 1e2, "e": -0}');
    expect(document.toPlain()[0]).toEqual(
      new Map<string, unknown>([['a', 9223372036854775807n], ['b', 2 ** 63], ['c', 1], ['d', 100], ['e', 0n]]),
    );
    expect(typeof document.getValue(['c'])).toBe('number');
  });

  test('leaf order and key paths (lists add nothing)', () => {
    const leaves = collectLeaves(json.parse('{"a": {"b": [1, {"c": "x"}]}, "d": null, "e": ""}'));
    expect(leaves.map((leaf) => [leaf.path, leaf.value])).toEqual([
      ['a:b', 1n],
      ['a:b:c', 'x'],
      ['d', null],
      ['e', ''],
    ]);
  });

  test.each([
    ['top-level array', '[1]', 1],
    ['duplicate key', '{\n"a": 1,\n"a": "hunter2"}', 3],
    ['trailing comma', '{"a": "hunter2",\n}', 2],
    ['unterminated string', '{\n"a": "hunter2', 2],
    ['bad literal', '{"a": hunter2}', 1],
  ])('%s is a PARSE_ERROR with a line and no content', (_name, text, line) => {
    const error = parseError(json, text, 'bad.json');
    expect(error.code).toBe('PARSE_ERROR');
    expect(error.data).toMatchObject({ file: 'bad.json', line });
    expect(error.message).not.toContain('hunter2');
  });

  test('set, get and delete', () => {
    const document = json.parse('{"a": {"b": 1}}');
    document.setValue(['a', 'b'], 'two');
    expect(document.serialize()).toBe('{"a": {"b": "two"}}');
    document.setValue(['x', 'y'], [1n]);
    expect(document.getValue(['x'])).toEqual(new Map([['y', [1n]]]));
    expect(document.deleteValue(['a'])).toBe(true);
    expect(document.deleteValue(['a'])).toBe(false);
    expect(document.serialize()).toBe('{\n\t"x": {\n\t\t"y": [\n\t\t\t1\n\t\t]\n\t}\n}\n');
    expect(() => document.setValue(['x', 'y', 'z'], 1n)).toThrow(expect.objectContaining({ code: 'INVALID_KEY_PATH' }));
    expect(() => document.setValue(['x', 'f'], Number.NaN)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VALUE' }));
  });

  test('clone is independent', () => {
    const original = json.parse('{"a": 1}');
    const copy = original.clone();
    replaceLeaves(copy, () => 2n);
    expect(original.serialize()).toBe('{"a": 1}');
    expect(copy.serialize()).toBe('{"a": 2}');
  });
});
