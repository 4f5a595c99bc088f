// The fast reader for SOPS-shaped YAML must build exactly the index the yaml-package path builds,
// and decline (so the full parser runs) on anything outside its shape.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { getStore } from '../../../src/format/stores/index.js';
import { YamlDocument, type YamlReader } from '../../../src/format/stores/yaml.js';
import { scanStream } from '../../../src/format/stores/yaml-scan.js';
import type { PlainMap, PlainValue, ScalarValue } from '../../../src/format/tree.js';
import { collectLeaves } from './collect.js';

const yaml = getStore('yaml');

function parse(text: string, reader: YamlReader): YamlDocument {
  return YamlDocument.parse(text, 'x.yaml', reader);
}

/** The index itself (leaf spans, events, documents, layout): equal indexes make every method agree. */
function indexOf(document: YamlDocument): unknown {
  return (document as unknown as { stream: unknown }).stream;
}

function replacement(value: ScalarValue, isComment: boolean, at: number): ScalarValue {
  if (isComment) return `ENC[AES256_GCM,data:c${at},iv:i,tag:t,type:comment]`;
  if (at % 3 === 0) return `line ${at}\nnext line\n`;
  if (at % 3 === 1) return typeof value === 'string' ? `${value}!` : at % 2 === 0;
  return `ENC[AES256_GCM,data:${at},iv:i,tag:t,type:str]`;
}

/** Everything the rest of coffer can observe must agree between the two readers. */
function expectSameBehaviour(fast: YamlDocument, full: YamlDocument): void {
  expect(indexOf(fast)).toEqual(indexOf(full));
  expect(fast.toPlain()).toEqual(full.toPlain());
  let fastMeta: unknown;
  let fullMeta: unknown;
  try {
    fullMeta = full.readMetadata();
  } catch (error) {
    fullMeta = error;
  }
  try {
    fastMeta = fast.readMetadata();
  } catch (error) {
    fastMeta = error;
  }
  expect(fastMeta).toEqual(fullMeta);
  expect(collectLeaves(fast)).toEqual(collectLeaves(full));
  expect(fast.serialize()).toBe(full.serialize());
  for (const document of [fast, full]) {
    let at = 0;
    document.mapLeaves((leaf) => replacement(leaf.value, leaf.isComment, at++));
  }
  expect(fast.serialize()).toBe(full.serialize());
  fast.removeMetadata();
  full.removeMetadata();
  expect(fast.serialize()).toBe(full.serialize());
  const metadata = new Map<string, PlainValue>([['version', '3.13.1']]);
  fast.writeMetadata(metadata);
  full.writeMetadata(metadata);
  expect(fast.serialize()).toBe(full.serialize());
}

function expectScanned(text: string): void {
  const full = parse(text, 'full');
  const fast = parse(text, 'scan');
  expect(fast.serialize()).toBe(text);
  expectSameBehaviour(fast, full);
}

/** The scanner declines, and the default reader still gives the full reader's result (or error). */
function expectDeclined(text: string): void {
  expect(scanStream(text)).toBeUndefined();
  let full: YamlDocument | Error;
  try {
    full = parse(text, 'full');
  } catch (error) {
    expect(() => parse(text, 'auto')).toThrow((error as Error).message);
    return;
  }
  expectSameBehaviour(parse(text, 'auto'), full);
}

const SOPS_FILE = `# top comment
#ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:comment]
db:
    user: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str] # line comment
    port: ENC[AES256_GCM,data:x,iv:y,tag:z,type:int]
    #ENC[AES256_GCM,data:c,iv:i,tag:t,type:comment]
    password: 'single ''quoted'''

# before list
list:
    - ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]
    - name: a
      # inside item
      value: "double \\"quoted\\" \\u00e9"
    - - nested
      - list
    # foot of list
cert: |
    -----BEGIN CERTIFICATE-----
    abc

    def
    -----END CERTIFICATE-----
stripped: |-
    no trailing newline
sops:
    kms: []
    age:
        - recipient: age1xyz
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            abc
            -----END AGE ENCRYPTED FILE-----
    lastmodified: "2024-03-25T22:08:10Z"
    mac: ENC[AES256_GCM,data:m,iv:i,tag:t,type:str]
    version: 3.13.1
`;

describe('fast YAML reader: same index as the yaml package', () => {
  test.each([
    ['a SOPS file with comments, lists of maps, literal blocks and metadata', SOPS_FILE],
    ['2-space indent, non-indented list', 'a:\n  b: 1\n  c:\n  - x\n  - y: 2\n    z: 3\nd: 4\n'],
    ['multi-document', 'a: 1\n# end of first\n---\n# start of second\nb: two\nsops:\n  version: 1\n---\nc: 3\n'],
    ['comments before the first separator', '# lead\n---\na: 1\n'],
    ['no trailing newline', 'a: 1\nb: |-\n  x\n  y'],
    ['scalars of every type', 'i: 42\nneg: -7\nplus: +3\noct: 0o17\nhex: 0x1F\nf: 1.50\ne: 1e3\ninf: -.inf\nnan: .NaN\nt: True\nn: ~\nnull2: NULL\ns: 1.2.3\nd: 2024-01-01\nq: "7"\nsq: \'x\'\ncolon: a:b\nhash: a#b\nbrackets: ENC[a,b]\n'],
    ['odd but valid keys', '"quoted key": 1\n\'single\': 2\na:b: 3\n<<: 4\n"": 5\n'],
    ['trailing comments at several depths', 'a:\n  b:\n    c: 1\n    # deep\n  # middle\n# top\nd: 1\n'],
    ['comments that all escape a closing map', 'a:\n  b:\n    c: 1\n  # middle\n  # middle 2\nd: 1\n'],
    ['mixed-depth comments after a nested map', 'a:\n  b:\n    c: 1\n# top\n    # deep\nd: 1\n'],
    ['comments before a nested block', 'a:\n# zero\n  # two\n  b: 1\nc: # line\n  - x\n'],
    ['trailing comments at the end of the text', 'a:\n  b: 1\n  # two\n# zero\n'],
    ['comments after the metadata', 'a: 1\nsops:\n  version: 1\n# after\nb: 2\n# end\n'],
    ['blank lines everywhere', '\n\na: 1\n\n\nb:\n\n  c: 2\n\n'],
  ])('%s', (_name, text) => {
    expectScanned(text);
  });

  test('the SOPS fixtures take the fast path', () => {
    for (const path of ['test/fixtures/sops/age/secret.enc.yaml', 'test/fixtures/sops/pgp/format.enc.yaml', 'test/fixtures/sops/pgp/format.yaml']) {
      expectScanned(readFileSync(path, 'utf8'));
    }
  });

  test.each([
    ['flow map', 'a: {b: 1}\n'],
    ['flow list', 'a: [1, 2]\n'],
    ['flow root', '{a: 1}\n'],
    ['anchor and alias', 'a: &x 1\nb: *x\n'],
    ['tag', 'a: !!str 1\n'],
    ['multi-line plain scalar', 'a: one\n  two\n'],
    ['multi-line quoted scalar', 'a: "one\n  two"\n'],
    ['folded block', 'a: >\n  text\n'],
    ['keep-chomping literal', 'a: |+\n  text\n\n'],
    ['literal with a comment on its header', 'a: | # c\n  text\n'],
    ['complex key', '? a\n: 1\n'],
    ['tab indentation', 'a:\n\tb: 1\n'],
    ['tab in a value', 'a: x\ty\n'],
    ['tab in a quoted value', 'a: "x\ty"\nb: \'x\ty\'\n'],
    ['tab in a comment', 'a: 1 #\tc\n'],
    ['comment after an empty flow list', 'a: [] # c\n'],
    ['duplicate keys', 'a: 1\na: 2\n'],
    ['int key', '1: a\n'],
    ['bool key', 'true: a\n'],
    ['null key', '~: a\n'],
    ['empty value', 'a:\nb: 1\n'],
    ['empty document', 'a: 1\n---\n'],
    ['document end marker', 'a: 1\n...\n'],
    ['scalar document', 'hunter2\n'],
    ['list document', '- a\n'],
    ['indented comment joining the value before it', 'a: 1\n  # joined\nb: 2\n'],
    ['comments inside the metadata', 'a: 1\nsops:\n  # c\n  version: 1\n'],
    ['comment on the sops key', 'a: 1\nsops: # c\n  version: 1\n'],
    ['escapes JSON lacks', 'a: "\\x41"\n'],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n'],
    ['byte order mark', '\ufeffa: 1\n'],
    ['bad indentation', 'a:\n    b: 1\n  c: 2\n'],
    ['nested mapping on one line', 'a: b: c\n'],
    ['a key longer than 1024 characters', `${'k'.repeat(1025)}: 1\n`],
    ['empty text', ''],
    ['comments only', '# nothing\n'],
  ])('declines: %s', (_name, text) => {
    expectDeclined(text);
  });
});

// ---- property: SOPS-shaped documents -----------------------------------------------------------

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const keyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/));
const scalar = fc.oneof(INT64, fc.double(), fc.boolean(), fc.constant(null), fc.string({ unit: 'binary', maxLength: 10 }), fc.string({ maxLength: 30 }));

const { tree } = fc.letrec<{ tree: PlainMap; value: PlainValue }>((tie) => ({
  tree: fc.uniqueArray(fc.tuple(keyText, tie('value')), { selector: ([key]) => key, maxLength: 5 }).map((entries) => new Map(entries)),
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, scalar, scalar, tie('tree'), fc.array(tie('value'), { maxLength: 4 })),
}));

const METADATA: PlainMap = new Map<string, PlainValue>([
  ['kms', []],
  ['age', [new Map([['recipient', 'age1xyz'], ['enc', '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n']])]],
  ['lastmodified', '2024-03-25T22:08:10Z'],
  ['mac', 'ENC[AES256_GCM,data:m,iv:i,tag:t,type:str]'],
  ['version', '3.13.1'],
]);

interface Decoration {
  /** Line index (modulo the line count) before which to insert. */
  at: number;
  kind: 'comment' | 'blank' | 'line-comment';
  /** Column shift from the next line's indentation. */
  shift: number;
  encrypted: boolean;
}

const decoration: fc.Arbitrary<Decoration> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom<Decoration['kind']>('comment', 'comment', 'blank', 'line-comment'),
  shift: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -8, max: 6 })),
  encrypted: fc.boolean(),
});

/** A document as SOPS writes it: encrypted-looking values (some kept), then comments and blank lines. */
function sopsShaped(documents: PlainMap[], encrypt: boolean, decorations: Decoration[], withMetadata: boolean): string {
  const document = yaml.fromPlain(documents.map((doc) => (doc.size === 0 ? new Map([['k', 'v']]) : doc)));
  let at = 0;
  if (encrypt) document.mapLeaves(() => (at++ % 4 === 3 ? undefined : `ENC[AES256_GCM,data:${at}==,iv:abc=,tag:def=,type:str]`));
  if (withMetadata) document.writeMetadata(METADATA);
  const lines = document.serialize().split('\n');
  for (const { at: where, kind, shift, encrypted } of decorations) {
    const index = where % lines.length;
    const next = lines.slice(index).find((line) => line.trim() !== '') ?? '';
    const column = Math.max(0, next.length - next.trimStart().length + shift);
    const text = encrypted ? 'ENC[AES256_GCM,data:c,iv:i,tag:t,type:comment]' : ` note ${where}`;
    if (kind === 'blank') lines.splice(index, 0, '');
    else if (kind === 'comment') lines.splice(index, 0, `${' '.repeat(column)}#${text}`);
    else if (lines[index] !== '' && !lines[index]!.endsWith('|') && !lines[index]!.endsWith('|-') && !lines[index]!.trimStart().startsWith('#')) {
      lines[index] = `${lines[index]} #${text}`;
    }
  }
  return lines.join('\n');
}

describe('fast YAML reader: property', () => {
  const documents = fc.tuple(
    fc.array(tree, { minLength: 1, maxLength: 2 }),
    fc.boolean(),
    fc.array(decoration, { maxLength: 6 }),
    fc.boolean(),
  );

  test('fast and full readers agree on generated SOPS-shaped files', () => {
    let scanned = 0;
    let runs = 0;
    fc.assert(
      fc.property(documents, ([docs, encrypt, decorations, withMetadata]) => {
        let text: string;
        try {
          text = sopsShaped(docs, encrypt, decorations, withMetadata);
          parse(text, 'full');
        } catch {
          return; // a decoration made invalid YAML (a comment inside a literal block is still valid, a line comment may not be)
        }
        runs++;
        if (scanStream(text)) scanned++;
        expectSameBehaviour(parse(text, 'auto'), parse(text, 'full'));
      }),
      { numRuns: 600 },
    );
    // the property must not be vacuous: most of these files take the fast path
    expect(scanned).toBeGreaterThan(runs / 2);
  });
});

// ---- property: line soup -----------------------------------------------------------------------

const soupLine = fc.oneof(
  fc.tuple(
    fc.constantFrom(0, 0, 1, 2, 2, 3, 4, 4, 6, 8),
    fc.constantFrom('k: v', 'a: 1', 'b: "s"', "c: 'q'", 'sops:', 'd:', 'e: []', 'f: {}', 'g: ENC[a,b]', 'h: ~', 'i: 1.5', 'j: a: b', 'l: |', 'm: |-', 'n: x # lc', 'o: # lc', '"p": 1', '1: x', '- x', '- y: 1', '- z:', '- - w', '-', '- # c', '# c', '#ENC[c]', 'text line', '- |'),
  ).map(([indent, body]) => `${' '.repeat(indent)}${body}`),
  fc.constantFrom('', '---', '...'),
);

type Mutation = { kind: 'insert'; at: number; line: string } | { kind: 'shift'; at: number; by: number } | { kind: 'delete'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), line: soupLine }),
  fc.record({ kind: fc.constant('shift' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
);

describe('fast YAML reader: mutated files', () => {
  test('whatever the scanner accepts, the full reader accepts with the same index', () => {
    let accepted = 0;
    fc.assert(
      fc.property(tree, fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 3 }), (root, withMetadata, mutations) => {
        const lines = sopsShaped([root], true, [], withMetadata).split('\n');
        for (const change of mutations) {
          if (lines.length === 0) break;
          const at = change.at % lines.length;
          if (change.kind === 'insert') lines.splice(at, 0, change.line);
          else if (change.kind === 'delete') lines.splice(at, 1);
          else lines[at] = change.by < 0 ? lines[at]!.replace(new RegExp(`^ {0,${-change.by}}`), '') : ' '.repeat(change.by) + lines[at];
        }
        const text = lines.join('\n');
        if (!scanStream(text)) return;
        accepted++;
        const full = parse(text, 'full'); // throws (fails the property) if the scanner accepted invalid YAML
        const fast = parse(text, 'scan');
        expect(fast.serialize()).toBe(text);
        expectSameBehaviour(fast, full);
      }),
      { numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(300);
  });
});
