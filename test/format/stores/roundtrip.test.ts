// fromPlain(x) -> serialize -> parse -> toPlain equals x, for every tree each store can hold.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { getStore } from '../../../src/format/stores/index.js';
import type { PlainMap, PlainValue } from '../../../src/format/tree.js';

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const text = fc.string({ unit: 'binary', maxLength: 12 });
const keyText = fc.string({ unit: 'binary', minLength: 0, maxLength: 8 });

function mapOf(value: fc.Arbitrary<PlainValue>, key: fc.Arbitrary<string> = keyText): fc.Arbitrary<PlainMap> {
  return fc.uniqueArray(fc.tuple(key, value), { selector: ([name]) => name, maxLength: 5 }).map((entries) => new Map(entries));
}

function treeOf(scalar: fc.Arbitrary<PlainValue>): fc.Arbitrary<PlainMap> {
  const { tree } = fc.letrec<{ tree: PlainMap; value: PlainValue }>((tie) => ({
    tree: mapOf(tie('value')),
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, scalar, tie('tree'), fc.array(tie('value'), { maxLength: 4 })),
  }));
  return tree;
}

const yamlScalar = fc.oneof(INT64, fc.double(), fc.boolean(), fc.constant(null), text);
const jsonScalar = fc.oneof(INT64, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), text);

function roundTrip(store: 'yaml' | 'json' | 'dotenv' | 'ini', documents: PlainValue[]): PlainValue[] {
  const written = getStore(store).fromPlain(documents).serialize();
  return getStore(store).parse(written, `x.${store}`).toPlain();
}

describe('fromPlain -> serialize -> parse -> toPlain', () => {
  test('YAML: any tree, several documents', () => {
    fc.assert(
      fc.property(fc.array(treeOf(yamlScalar), { minLength: 1, maxLength: 3 }), (documents) => {
        expect(roundTrip('yaml', documents)).toEqual(documents);
      }),
      { numRuns: 300 },
    );
  });

  test('JSON: any tree without NaN or infinities', () => {
    fc.assert(
      fc.property(treeOf(jsonScalar), (document) => {
        expect(roundTrip('json', [document])).toEqual([document]);
      }),
      { numRuns: 300 },
    );
  });

  test('dotenv: flat map of strings', () => {
    const key = keyText.filter((name) => !name.includes('=') && !name.includes('\n') && !name.startsWith('#') && !name.startsWith('sops_'));
    const value = text.filter((content) => !content.includes('\\n'));
    fc.assert(
      fc.property(mapOf(value, key), (document) => {
        // an empty key with an empty value is the line "=", still a pair
        expect(roundTrip('dotenv', [document])).toEqual([document]);
      }),
      { numRuns: 300 },
    );
  });

  test('INI: sections of string values', () => {
    const name = keyText.filter(
      (candidate) => candidate !== '' && candidate.trim() === candidate && !/[\r\n\]]/.test(candidate) && candidate !== 'sops' && candidate !== 'DEFAULT',
    );
    const key = keyText.filter((candidate) => candidate !== '' && candidate.trim() === candidate && !/[\r\n=:]/.test(candidate) && !/^[[;#"`]/.test(candidate));
    const value = text.filter((content) => !content.includes('\\n') && !content.includes('"""') && !content.includes('\r'));
    fc.assert(
      fc.property(mapOf(mapOf(value, key), name), (document) => {
        expect(roundTrip('ini', [document])).toEqual([document]);
      }),
      { numRuns: 300 },
    );
  });
});
