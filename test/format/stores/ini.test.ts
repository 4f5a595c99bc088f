import { describe, expect, test } from 'vitest';
import { getStore } from '../../../src/format/stores/index.js';
import type { PlainMap } from '../../../src/format/tree.js';
import { collectLeaves, replaceLeaves } from './collect.js';

const ini = getStore('ini');

const TEXT = `; file comment
top=1

[db]
; the user
user = admin
password=hunter2 ; inline
quoted = "  spaced  "
tick = \`a#b\`
multi = """one
two"""

; about next
[empty]
`;

describe('INI store', () => {
  test('parse -> serialize is byte-identical', () => {
    const document = ini.parse(TEXT);
    expect(document.serialize()).toBe(TEXT);
    document.mapLeaves(() => undefined);
    expect(document.serialize()).toBe(TEXT);
  });

  test('values, sections and DEFAULT keys as Go ini reads them', () => {
    expect(ini.parse(TEXT).toPlain()[0]).toEqual(
      new Map<string, unknown>([
        ['DEFAULT', new Map([['top', '1']])],
        [
          'db',
          new Map([
            ['user', 'admin'],
            ['password', 'hunter2'],
            ['quoted', '  spaced  '],
            ['tick', 'a#b'],
            ['multi', 'one\ntwo'],
          ]),
        ],
        ['empty', new Map()],
      ]),
    );
  });

  test('leaf order, key paths and comments', () => {
    expect(collectLeaves(ini.parse(TEXT)).map((leaf) => [leaf.path, leaf.value, leaf.comment, leaf.stack])).toEqual([
      ['DEFAULT', ' file comment', true, []],
      ['DEFAULT:top', '1', false, [' file comment']],
      ['db', ' the user', true, []],
      ['db:user', 'admin', false, [' the user']],
      ['db:password', 'hunter2', false, []],
      ['db:quoted', '  spaced  ', false, []],
      ['db:tick', 'a#b', false, []],
      ['db:multi', 'one\ntwo', false, []],
      ['', ' about next', true, []],
    ]);
  });

  test('replacing one value changes only that line', () => {
    const document = ini.parse(TEXT);
    replaceLeaves(document, (path) => (path === 'db:password' ? 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]' : undefined));
    document.mapLeaves((leaf) => (leaf.isComment && leaf.value === ' the user' ? 'ENC[c]' : undefined));
    expect(document.serialize()).toBe(
      TEXT.replace('password=hunter2 ; inline', 'password=ENC[AES256_GCM,data:x,iv:y,tag:z,type:str] ; inline').replace('; the user', ';ENC[c]'),
    );
  });

  test('written values read back: quoting, newlines, non-strings become text', () => {
    const values: [string, unknown, string][] = [
      ['plain', 'x', 'x'],
      ['spaces', ' x ', ' x '],
      ['hash', 'a;b#c', 'a;b#c'],
      ['tick', 'a`b', 'a`b'],
      ['quotes', '"q"', '"q"'],
      ['newline', 'a\nb', 'a\nb'],
      ['int', 7n, '7'],
      ['float', 2.5, '2.5'],
      ['bool', true, 'true'],
    ];
    const document = ini.fromPlain([new Map([['s', new Map(values.map(([key, value]) => [key, value]))]]) as PlainMap]);
    const text = document.serialize();
    expect(text.split('\n')[0]).toBe('[s]');
    expect(text).toContain('newline = a\\nb\n');
    const reread = ini.parse(text).toPlain()[0] as PlainMap;
    for (const [key, , expected] of values) expect((reread.get('s') as PlainMap).get(key)).toBe(expected);
  });

  test('metadata: [sops] section flattened without prefix, aligned', () => {
    const document = ini.parse('[foo]\nbar = baz\n');
    document.writeMetadata(new Map<string, unknown>([['version', '3.13.2'], ['pgp', [new Map([['fp', 'F']])]]]) as PlainMap);
    expect(document.serialize()).toBe('[foo]\nbar = baz\n\n[sops]\npgp__list_0__map_fp = F\nversion             = 3.13.2\n');
    document.removeMetadata();
    expect(document.serialize()).toBe('[foo]\nbar = baz\n');
  });

  test('set, get and delete', () => {
    const document = ini.parse('[a]\nx = 1\n; trailing\n');
    document.setValue(['a', 'y'], '2');
    document.setValue(['b', 'z'], '3');
    expect(document.serialize()).toBe('[a]\nx = 1\ny = 2\n; trailing\n\n[b]\nz = 3\n');
    expect(document.getValue(['a', 'y'])).toBe('2');
    expect(document.getValue(['b'])).toEqual(new Map([['z', '3']]));
    expect(document.deleteValue(['a', 'x'])).toBe(true);
    expect(document.deleteValue(['b'])).toBe(true);
    expect(document.serialize()).toBe('[a]\ny = 2\n; trailing\n\n');
    expect(() => document.setValue(['a', 'y', 'z'], '1')).toThrow(expect.objectContaining({ code: 'INVALID_KEY_PATH' }));
    expect(() => document.setValue(['a', 'y'], [1n])).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VALUE' }));
  });

  test('parse errors name the line, not its content', () => {
    expect(() => ini.parse('[a]\nhunter2\n', 'x.ini')).toThrow(
      expect.objectContaining({ code: 'PARSE_ERROR', data: { file: 'x.ini', line: 2, column: 1 }, message: expect.not.stringContaining('hunter2') }),
    );
    expect(() => ini.parse('[a\n', 'x.ini')).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });
});
