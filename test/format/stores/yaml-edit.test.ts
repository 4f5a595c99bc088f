// Structural edits (setValue of new keys, maps and lists; deleteValue) change only the lines of the
// entry they touch: every other line stays byte-identical.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { getStore } from '../../../src/format/stores/index.js';
import type { PathSegment, PlainMap, PlainValue } from '../../../src/format/tree.js';

const yaml = getStore('yaml');

/** Lines removed from `before` and added in `after`, by a longest-common-subsequence diff. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || table[i]![j + 1]! >= table[i + 1]![j]!)) added.push(b[j++]!);
    else removed.push(a[i++]!);
  }
  return { removed, added };
}

function edit(text: string, change: (document: ReturnType<typeof yaml.parse>) => void): { text: string; plain: PlainValue } {
  const document = yaml.parse(text);
  change(document);
  const written = document.serialize();
  const plain = yaml.parse(written).toPlain()[0]!;
  expect(plain).toEqual(document.toPlain()[0]);
  return { text: written, plain };
}

const TWO_SPACES = `# app secrets
app:
  # database
  db:
    user: admin # line comment
    password: hunter2
    hosts:
      - db1
      - db2
  # foot of app

# services
services:
  - name: api
    token: abc
    # inside
  - name: web
    token: def
empty: {}
sops:
  age:
    - recipient: age1xyz
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        abc
        -----END AGE ENCRYPTED FILE-----
  version: 3.13.1
`;

const FOUR_SPACES = `# app secrets
app:
    # database
    db:
        user: admin # line comment
        password: hunter2
        hosts:
            - db1
            - db2
    # foot of app

# services
services:
    - name: api
      token: abc
      # inside
    - name: web
      token: def
empty: {}
sops:
    age:
        - recipient: age1xyz
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            abc
            -----END AGE ENCRYPTED FILE-----
    version: 3.13.1
`;

describe('YAML structural edits touch only their lines', () => {
  test('the reported case: a new top-level key does not re-indent the file', () => {
    const document = yaml.fromPlain([
      new Map([['A', new Map([['A', new Map([['A', new Map([['A', [new Map([['A0', new Map([['A', 0]])]])]]])]])]])]]),
    ]);
    const before = document.serialize();
    expect(before).toContain('\n                    A: 0.0\n');
    document.setValue(['zz_new_key'], '');
    expect(lineDiff(before, document.serialize())).toEqual({ removed: [], added: ['zz_new_key: ""'] });
  });

  describe.each([
    ['2-space', TWO_SPACES, '  '],
    ['4-space', FOUR_SPACES, '    '],
  ])('%s indentation', (_name, text, unit) => {
    const pad = (level: number): string => unit.repeat(level);
    const cases: [string, (document: ReturnType<typeof yaml.parse>) => void, string[], string[]][] = [
      ['replace a scalar', (d) => d.setValue(['app', 'db', 'password'], 'new'), [`${pad(2)}password: hunter2`], [`${pad(2)}password: new`]],
      ['add a key to a nested map', (d) => d.setValue(['app', 'db', 'port'], 5432n), [], [`${pad(2)}port: 5432`]],
      ['add a top-level key (before sops)', (d) => d.setValue(['zeta'], 'z'), [], ['zeta: z']],
      [
        'add a key with missing parents',
        (d) => d.setValue(['app', 'cache', 'redis', 'url'], 'redis://x'),
        [],
        [`${pad(1)}cache:`, `${pad(2)}redis:`, `${pad(3)}url: redis://x`],
      ],
      [
        'set a map value on a new key',
        (d) => d.setValue(['app', 'extra'], new Map<string, PlainValue>([['a', 'b'], ['list', ['x']]])),
        [],
        [`${pad(1)}extra:`, `${pad(2)}a: b`, `${pad(2)}list:`, `${pad(3)}- x`],
      ],
      ['replace a list by a scalar', (d) => d.setValue(['app', 'db', 'hosts'], 'one'), [`${pad(2)}hosts:`, `${pad(3)}- db1`, `${pad(3)}- db2`], [`${pad(2)}hosts: one`]],
      [
        'replace a scalar by a map',
        (d) => d.setValue(['app', 'db', 'user'], new Map([['name', 'admin']])),
        [`${pad(2)}user: admin # line comment`],
        [`${pad(2)}user: # line comment`, `${pad(3)}name: admin`],
      ],
      ['replace an empty flow map by a map', (d) => d.setValue(['empty'], new Map([['k', 'v']])), ['empty: {}'], ['empty:', `${pad(1)}k: v`]],
      ['delete a scalar key', (d) => expect(d.deleteValue(['app', 'db', 'password'])).toBe(true), [`${pad(2)}password: hunter2`], []],
      [
        'delete a map with its nested block and its own trailing comments',
        (d) => expect(d.deleteValue(['app'])).toBe(true),
        [
          'app:',
          `${pad(1)}# database`,
          `${pad(1)}db:`,
          `${pad(2)}user: admin # line comment`,
          `${pad(2)}password: hunter2`,
          `${pad(2)}hosts:`,
          `${pad(3)}- db1`,
          `${pad(3)}- db2`,
          `${pad(1)}# foot of app`,
        ],
        [],
      ],
      [
        'delete a list item of maps (its comments go with it)',
        (d) => expect(d.deleteValue(['services', 0])).toBe(true),
        [`${pad(1)}- name: api`, `${pad(1)}  token: abc`, `${pad(1)}  # inside`],
        [],
      ],
      ['delete a scalar list item', (d) => expect(d.deleteValue(['app', 'db', 'hosts', 1])).toBe(true), [`${pad(3)}- db2`], []],
      ['append a list item', (d) => d.setValue(['app', 'db', 'hosts', 2], 'db3'), [], [`${pad(3)}- db3`]],
      [
        'append a map to a list of maps',
        (d) => d.setValue(['services', 2], new Map([['name', 'jobs'], ['token', 'ghi']])),
        [],
        [`${pad(1)}- name: jobs`, `${pad(1)}  token: ghi`],
      ],
      ['delete the first key of a map in a list', (d) => d.deleteValue(['services', 1, 'name']), [`${pad(1)}- name: web`, `${pad(1)}  token: def`], [`${pad(1)}- token: def`]],
      ['delete the last key of a nested map', (d) => d.deleteValue(['services', 1, 'token']), [`${pad(1)}  token: def`], []],
    ];
    test.each(cases)('%s', (_case, change, removed, added) => {
      const result = edit(text, change);
      expect(lineDiff(text, result.text)).toEqual({ removed, added });
    });

    test('emptying a nested map leaves {}', () => {
      const once = edit(text, (d) => d.deleteValue(['app', 'db', 'user']));
      const twice = edit(once.text, (d) => {
        d.deleteValue(['app', 'db', 'password']);
        d.deleteValue(['app', 'db', 'hosts']);
      });
      expect(lineDiff(once.text, twice.text)).toEqual({
        removed: [`${pad(1)}db:`, `${pad(2)}password: hunter2`, `${pad(2)}hosts:`, `${pad(3)}- db1`, `${pad(3)}- db2`],
        added: [`${pad(1)}db: {}`],
      });
    });
  });

  test('comments heading the next key stay when a key is deleted', () => {
    const text = 'a: 1\n# about b\nb: 2\n';
    expect(edit(text, (d) => d.deleteValue(['a'])).text).toBe('# about b\nb: 2\n');
  });

  test('deleting the first key of a map in a list keeps the comments before the next key', () => {
    const text = 'list:\n  - a: 1\n    # about b\n    b: 2\n  - - x\n    # about y\n    - y\n';
    const once = edit(text, (d) => d.deleteValue(['list', 0, 'a']));
    expect(once.text).toBe('list:\n    # about b\n  - b: 2\n  - - x\n    # about y\n    - y\n');
    expect(edit(once.text, (d) => d.deleteValue(['list', 1, 0])).text).toBe('list:\n    # about b\n  - b: 2\n    # about y\n  - - y\n');
  });

  test('a non-indented list keeps its style when items are added or removed', () => {
    const text = 'list:\n- a\n- b\nnext: 1\n';
    expect(edit(text, (d) => d.setValue(['list', 2], 'c')).text).toBe('list:\n- a\n- b\n- c\nnext: 1\n');
    expect(edit(text, (d) => d.deleteValue(['list'])).text).toBe('next: 1\n');
  });

  test('flow collections still take edits through the Document API', () => {
    const result = edit('a: {x: 1}\nb: [1, 2]\n', (d) => {
      d.setValue(['a', 'y'], 2n);
      d.deleteValue(['b', 0]);
    });
    expect(result.plain).toEqual(
      new Map<string, PlainValue>([
        ['a', new Map([['x', 1n], ['y', 2n]])],
        ['b', [2n]],
      ]),
    );
  });

  test('a new key in an empty file', () => {
    expect(edit('', (d) => d.setValue(['a', 'b'], 'c')).text).toBe('a:\n    b: c\n');
    expect(edit('# only a comment\n', (d) => d.setValue(['a'], 'c')).text).toBe('# only a comment\na: c\n');
  });
});

// ---- property: random trees, one random edit --------------------------------------------------

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const keyText = fc.string({ unit: 'binary', maxLength: 6 });
const scalar = fc.oneof(INT64, fc.double(), fc.boolean(), fc.constant(null), fc.string({ unit: 'binary', maxLength: 10 }));

const { tree, value } = fc.letrec<{ tree: PlainMap; value: PlainValue }>((tie) => ({
  tree: fc.uniqueArray(fc.tuple(keyText, tie('value')), { selector: ([key]) => key, maxLength: 4 }).map((entries) => new Map(entries)),
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, scalar, tie('tree'), fc.array(tie('value'), { maxLength: 3 })),
}));

/** Every path into a tree, parents before children. */
function pathsOf(node: PlainValue, prefix: PathSegment[] = []): PathSegment[][] {
  const found: PathSegment[][] = [];
  if (node instanceof Map) for (const [key, child] of node) found.push([...prefix, key], ...pathsOf(child, [...prefix, key]));
  else if (Array.isArray(node)) for (const [index, child] of node.entries()) found.push([...prefix, index], ...pathsOf(child, [...prefix, index]));
  return found;
}

function getAt(root: PlainValue, path: readonly PathSegment[]): PlainValue | undefined {
  let node: PlainValue | undefined = root;
  for (const segment of path) {
    if (node instanceof Map && typeof segment === 'string') node = node.get(segment);
    else if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else return undefined;
  }
  return node;
}

function isEmptyCollection(node: PlainValue | undefined): boolean {
  return (node instanceof Map && node.size === 0) || (Array.isArray(node) && node.length === 0);
}

/** Lines of `key: value` (or `- value`) as the emitter writes them. */
function entryLines(parent: PlainValue | undefined, segment: PathSegment, entry: PlainValue | undefined): number {
  if (entry === undefined) return 0;
  const wrapped = Array.isArray(parent) ? new Map([['k', [entry]]]) : new Map([[String(segment), entry]]);
  const lines = yaml.fromPlain([wrapped]).serialize().split('\n').length - 1;
  return Array.isArray(parent) ? lines - 1 : lines;
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof Map) return [...value];
  return value;
}

type Edit = { kind: 'set'; path: PathSegment[]; value: PlainValue } | { kind: 'delete'; path: PathSegment[] };

function applyPlain(root: PlainMap, change: Edit): void {
  const parent = getAt(root, change.path.slice(0, -1));
  const last = change.path[change.path.length - 1]!;
  if (change.kind === 'set') {
    if (parent instanceof Map) parent.set(last as string, change.value);
    else if (Array.isArray(parent)) parent[last as number] = change.value;
  } else if (parent instanceof Map) parent.delete(last as string);
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
}

describe('YAML structural edits: property', () => {
  test('one random set or delete changes one contiguous run of lines, no more than the entry has', () => {
    const cases = fc
      .tuple(tree.filter((root) => root.size > 1 && !root.has('sops')), fc.nat(), fc.nat(), value, keyText, fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 4 }))
      .map(([root, pick, kind, newValue, newKey, addKey, decorations]) => {
        const paths = pathsOf(root);
        const path = paths[pick % paths.length]!;
        let change: Edit;
        if (kind % 2 === 0) change = { kind: 'delete', path };
        else if (addKey && getAt(root, path) instanceof Map) change = { kind: 'set', path: [...path, `new${newKey}`], value: newValue };
        else change = { kind: 'set', path, value: newValue };
        return { root, change, decorations };
      });
    fc.assert(
      fc.property(cases, ({ root, change, decorations }) => {
        const parentPath = change.path.slice(0, -1);
        const parent = getAt(root, parentPath);
        const existing = getAt(root, change.path);
        // adding into an empty (flow) collection takes the Document API
        fc.pre(!(existing === undefined && isEmptyCollection(parent)));
        // emptying a collection rewrites its parent entry as `{}`/`[]`; at the root the Document API does it
        const empties = change.kind === 'delete' && (parent instanceof Map ? parent.size === 1 : Array.isArray(parent) && parent.length === 1);
        fc.pre(!(empties && parentPath.length === 0));
        // comments (at the next line's column) and blank lines, as in a hand-kept file
        const lines = yaml.fromPlain([root]).serialize().split('\n');
        for (const [where, blank] of decorations) {
          const at = where % lines.length;
          const next = lines.slice(at).find((line) => line.trim() !== '') ?? '';
          lines.splice(at, 0, blank ? '' : `${' '.repeat(next.length - next.trimStart().length)}# note ${where}`);
        }
        const before = lines.join('\n');
        const document = yaml.parse(before);
        fc.pre(JSON.stringify(document.toPlain(), replacer) === JSON.stringify([root], replacer)); // not inside a literal block
        const expected = structuredClone(root);
        applyPlain(expected, change);
        if (change.kind === 'set') document.setValue(change.path, change.value);
        else expect(document.deleteValue(change.path)).toBe(true);
        const after = document.serialize();
        expect(yaml.parse(after).toPlain()).toEqual([expected]);
        // before = common prefix + old lines + common suffix; after = prefix + new lines + suffix
        const a = before.split('\n');
        const b = after.split('\n');
        let prefix = 0;
        while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
        let suffix = 0;
        while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
        const affected = empties ? parentPath : change.path;
        const affectedParent = getAt(root, affected.slice(0, -1));
        const segment = affected[affected.length - 1]!;
        // deleting the first entry of a collection in a list moves the next entry up onto the `-` line
        const first = affectedParent instanceof Map ? [...affectedParent.keys()][0] === segment : segment === 0;
        const slack = change.kind === 'delete' && !empties && first && Array.isArray(getAt(root, affected.slice(0, -2))) ? 1 : 0;
        // comment and blank lines inside the entry go with it (or, when the next entry moves up onto
        // the `-` line, stay before that line)
        const valueLines = (lines: string[], end: number): number => lines.slice(prefix, end).filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#')).length;
        expect(valueLines(a, a.length - suffix)).toBeLessThanOrEqual(entryLines(affectedParent, segment, getAt(root, affected)) + slack);
        expect(valueLines(b, b.length - suffix)).toBeLessThanOrEqual(entryLines(affectedParent, segment, getAt(expected, affected)) + slack);
      }),
      { numRuns: 400 },
    );
  });
});
