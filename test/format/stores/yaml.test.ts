import { describe, expect, test } from 'vitest';
import { getStore } from '../../../src/format/stores/index.js';
import { type PlainMap, TimeValue } from '../../../src/format/tree.js';
import { collectLeaves, parseError, replaceLeaves } from './collect.js';

const yaml = getStore('yaml');

const COMMENTED = `# top comment

db:
  # head of user
  user: admin # line comment
  password: hunter2

  # foot of db
# before list
list:
  - name: a
    # inside item
    value: 1
  - plain
flow: [1, 2]
`;

describe('YAML store', () => {
  test.each([
    ['comments and blank lines', COMMENTED],
    ['2-space indent', 'a:\n  b:\n    c: 1\n  d:\n  - x\n  - y\n'],
    ['4-space indent', 'a:\n    b:\n        c: "quoted"\n    d:\n        - x\n'],
    ['multi-document', 'a: 1\n---\n# second\nb: two\n...\n---\nc: [3]\n'],
    ['no trailing newline', 'a: 1\nb: |-\n  x\n  y'],
    ['anchors without aliases and tags', 'a: &anchor 1\nb: !!str 2\nc: \'single\'\n'],
    ['empty file', ''],
    ['comments only', '# nothing here\n'],
  ])('parse -> serialize is byte-identical: %s', (_name, text) => {
    const document = yaml.parse(text);
    expect(document.serialize()).toBe(text);
    document.mapLeaves(() => undefined);
    expect(document.serialize()).toBe(text);
  });

  test('leaf order, key paths and comment leaves', () => {
    const leaves = collectLeaves(yaml.parse(COMMENTED));
    expect(leaves.map((leaf) => [leaf.path, leaf.value, leaf.comment])).toEqual([
      ['', ' top comment', true],
      ['db', ' head of user', true],
      ['db', ' line comment', true],
      ['db:user', 'admin', false],
      ['db:password', 'hunter2', false],
      ['db', ' foot of db', true],
      ['', ' before list', true],
      ['list:name', 'a', false],
      ['list', ' inside item', true],
      ['list:value', 1n, false],
      ['list', 'plain', false],
      ['flow', 1n, false],
      ['flow', 2n, false],
    ]);
  });

  test('comment stack: a comment applies to the next entry at its level and below', () => {
    const text = '# one\na:\n  # two\n  b: 1\n  c: 2\nd: 3\n';
    const stacks = collectLeaves(yaml.parse(text)).map((leaf) => [leaf.path, leaf.stack]);
    expect(stacks).toEqual([
      ['', []],
      ['a', [' one']],
      ['a:b', [' one', ' two']],
      ['a:c', [' one']],
      ['d', []],
    ]);
  });

  test('replacing one leaf changes only that line; comments stay comments', () => {
    const document = yaml.parse(COMMENTED);
    replaceLeaves(document, (path) => (path === 'db:password' ? 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]' : undefined));
    document.mapLeaves((leaf) => (leaf.isComment && leaf.value === ' line comment' ? 'ENC[AES256_GCM,data:c,iv:i,tag:t,type:comment]' : undefined));
    const before = COMMENTED.split('\n');
    const after = document.serialize().split('\n');
    expect(after).toHaveLength(before.length);
    const changed = after.flatMap((line, index) => (line === before[index] ? [] : [line]));
    expect(changed).toEqual([
      '  user: admin #ENC[AES256_GCM,data:c,iv:i,tag:t,type:comment]',
      '  password: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]',
    ]);
  });

  test('typed values read back as the same type', () => {
    const values: [string, unknown][] = [
      ['int', 7n],
      ['big', -9223372036854775808n],
      ['float', 3.14],
      ['whole', 3],
      ['huge', 1e21],
      ['tiny', 1e-7],
      ['yes', true],
      ['no', false],
      ['nothing', null],
      ['seven', '7'],
      ['truth', 'true'],
      ['tilde', '~'],
      ['date', '2024-03-25T22:08:10Z'],
      ['version', '3.13.1'],
      ['unicode', 'héllo ✓ 😀'],
      ['multi', 'line one\nline two\n'],
      ['multiNoEnd', 'a\n\nb'],
      ['keep', 'a\n\n'],
      ['indented', '  leading spaces\nx'],
      ['empty', ''],
      ['colon', 'a: b'],
      ['hash', 'a #b'],
      ['enc', 'ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]'],
      ['controls', 'tab\there\u0001\u2028'],
    ];
    const text = `${values.map(([key]) => `${key}: placeholder`).join('\n')}\nlist:\n  - placeholder\n`;
    const document = yaml.parse(text);
    const byPath = new Map<string, unknown>(values);
    byPath.set('list', 'multi\nline in list');
    replaceLeaves(document, (path) => byPath.get(path));
    const written = document.serialize();
    expect(written).toContain('whole: 3.0\n');
    expect(written).toContain('huge: 1000000000000000000000.0\n');
    expect(written).toContain('tiny: 0.0000001\n');
    expect(written).toContain('seven: "7"\n');
    expect(written).toContain('truth: "true"\n');
    expect(written).toContain('enc: ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]\n');
    expect(written).toContain('multi: |\n  line one\n  line two\n');
    expect(written).toContain('version: 3.13.1\n');
    const reread = yaml.parse(written).toPlain()[0] as PlainMap;
    for (const [key, value] of values) expect(reread.get(key)).toEqual(value);
    expect(reread.get('list')).toEqual(['multi\nline in list']);
  });

  test('a TimeValue is written as its text', () => {
    const document = yaml.parse('t: x\n');
    replaceLeaves(document, () => new TimeValue('2024-01-02T03:04:05Z'));
    expect(document.serialize()).toBe('t: 2024-01-02T03:04:05Z\n');
  });

  test('values inside flow collections stay valid flow YAML', () => {
    const document = yaml.parse('f: [a, b]\n');
    replaceLeaves(document, () => 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]');
    expect(document.serialize()).toBe('f: ["ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]"]\n');
    expect(yaml.parse(document.serialize()).getValue(['f', 1])).toBe('ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]');
  });

  test('a block scalar replaced by a plain value keeps the following lines', () => {
    const document = yaml.parse('a: |\n  one\n  two\nb: 2\n');
    replaceLeaves(document, (path) => (path === 'a' ? 'ENC[x]' : undefined));
    expect(document.serialize()).toBe('a: ENC[x]\nb: 2\n');
  });

  test('multi-document: metadata read from the first, removed from all, written last in every document', () => {
    const text = 'a: 1\nsops:\n  version: 3.13.1\n---\nb: 2\nsops:\n  version: 3.13.1\n';
    const document = yaml.parse(text);
    expect(document.readMetadata()).toEqual(new Map([['version', '3.13.1']]));
    expect(document.toPlain()).toEqual([new Map([['a', 1n]]), new Map([['b', 2n]])]);
    expect(collectLeaves(document).map((leaf) => leaf.path)).toEqual(['a', 'b']);
    document.removeMetadata();
    expect(document.serialize()).toBe('a: 1\n---\nb: 2\n');
    document.writeMetadata(new Map([['lastmodified', '2024-03-25T22:08:10Z'], ['version', '3.13.1']]));
    expect(document.serialize()).toBe(
      'a: 1\nsops:\n  lastmodified: "2024-03-25T22:08:10Z"\n  version: 3.13.1\n---\nb: 2\nsops:\n  lastmodified: "2024-03-25T22:08:10Z"\n  version: 3.13.1\n',
    );
  });

  test('metadata is appended after trailing comments and to empty documents', () => {
    const document = yaml.parse('a: 1 # c\n# trailing');
    document.writeMetadata(new Map([['version', '1']]));
    expect(document.serialize()).toBe('a: 1 # c\n# trailing\nsops:\n    version: "1"\n');
    const empty = yaml.parse('');
    empty.writeMetadata(new Map<string, never>([['kms', [] as never]]));
    expect(empty.serialize()).toBe('sops:\n    kms: []\n');
  });

  test('fromPlain writes the SOPS 3.13 layout', () => {
    const document = yaml.fromPlain([
      new Map<string, unknown>([
        ['a', new Map([['b', 'c']])],
        ['list', [new Map<string, unknown>([['x', 1n], ['z', 'two\nlines']]), 'plain']],
        ['empty', new Map()],
        ['none', []],
      ]) as unknown as PlainMap,
    ]);
    expect(document.serialize()).toBe(
      'a:\n    b: c\nlist:\n    - x: 1\n      z: |-\n        two\n        lines\n    - plain\nempty: {}\nnone: []\n',
    );
  });

  test('aliases are expanded into copies and anchors dropped', () => {
    const document = yaml.parse('base: &b\n  k: v\nuse: *b\nlist: [*b]\n');
    expect(document.toPlain()[0]).toEqual(
      new Map<string, unknown>([
        ['base', new Map([['k', 'v']])],
        ['use', new Map([['k', 'v']])],
        ['list', [new Map([['k', 'v']])]],
      ]),
    );
    expect(collectLeaves(document).map((leaf) => leaf.path)).toEqual(['base:k', 'use:k', 'list:k']);
    expect(document.serialize()).not.toContain('*b');
  });

  test('an alias bomb is refused with INPUT_TOO_LARGE', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level <= 9; level++) {
      const refs = Array.from({ length: 9 }, () => `*a${level - 1}`).join(', ');
      lines.push(`a${level}: &a${level} [${refs}]`);
    }
    expect(() => yaml.parse(`${lines.join('\n')}\n`)).toThrow(expect.objectContaining({ code: 'INPUT_TOO_LARGE' }));
  });

  test.each([
    ['duplicate keys', 'a: 1\nsecret: hunter2\na: 2\n', 3],
    ['non-string key', 'a: 1\n42: hunter2\n', 2],
    ['sequence document', '- hunter2\n', 1],
    ['scalar document', 'hunter2\n', 1],
    ['bad indentation', 'a:\n  b: hunter2\n c: 1\n', 3],
    ['unclosed flow', 'a: [hunter2\n', 2],
  ])('%s is a PARSE_ERROR naming the line, without the content', (_name, text, line) => {
    const error = parseError(yaml, text, 'bad.yaml');
    expect(error.code).toBe('PARSE_ERROR');
    expect(error.data).toMatchObject({ file: 'bad.yaml', line });
    expect(error.message).toMatch(new RegExp(`^bad\\.yaml:${line}:\\d+: `));
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('\n');
  });

  test('getValue, setValue and deleteValue on the first document', () => {
    const document = yaml.parse('# keep me\na:\n  b: 1 # line\nlist:\n  - x\n---\nother: 1\n');
    expect(document.getValue(['a', 'b'])).toBe(1n);
    expect(document.getValue(['list', 0])).toBe('x');
    expect(document.getValue(['missing'])).toBeUndefined();
    document.setValue(['a', 'b'], 'two');
    expect(document.serialize()).toBe('# keep me\na:\n  b: two # line\nlist:\n  - x\n---\nother: 1\n');
    document.setValue(['a', 'c', 'd'], new Map([['e', [1n, 2.5]]]));
    document.setValue(['z'], 'last');
    expect(document.getValue(['a', 'c', 'd', 'e'])).toEqual([1n, 2.5]);
    expect(document.serialize()).toBe(
      '# keep me\na:\n  b: two # line\n  c:\n    d:\n      e:\n        - 1\n        - 2.5\nlist:\n  - x\nz: last\n---\nother: 1\n',
    );
    expect(document.deleteValue(['a', 'c'])).toBe(true);
    expect(document.deleteValue(['nope'])).toBe(false);
    expect(document.serialize()).toBe('# keep me\na:\n  b: two # line\nlist:\n  - x\nz: last\n---\nother: 1\n');
    expect(() => document.setValue(['list', 'k'], 'v')).toThrow(expect.objectContaining({ code: 'INVALID_KEY_PATH' }));
  });

  test('a flow root map takes metadata through the Document API', () => {
    const document = yaml.parse('{a: 1, b: [x]}\n');
    document.writeMetadata(new Map([['version', '3.13.1']]));
    const reread = yaml.parse(document.serialize());
    expect(reread.readMetadata()).toEqual(new Map([['version', '3.13.1']]));
    expect(reread.toPlain()).toEqual([new Map<string, unknown>([['a', 1n], ['b', ['x']]])]);
    expect(collectLeaves(reread).map((leaf) => leaf.path)).toEqual(['a', 'b']);
    reread.removeMetadata();
    expect(reread.readMetadata()).toBeUndefined();
    expect(yaml.parse(reread.serialize()).readMetadata()).toBeUndefined();
  });

  test('clone is independent', () => {
    const original = yaml.parse('a: 1\n');
    const copy = original.clone();
    replaceLeaves(copy, () => 2n);
    copy.writeMetadata(new Map([['version', 'x']]));
    expect(original.serialize()).toBe('a: 1\n');
    expect(original.readMetadata()).toBeUndefined();
    expect(copy.serialize()).toBe('a: 2\nsops:\n    version: x\n');
  });
});
