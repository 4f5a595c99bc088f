import { describe, expect, test } from 'vitest';
import { flattenMetadata, unflattenMetadata } from '../../src/format/flatten.js';
import type { PlainMap } from '../../src/format/tree.js';

const METADATA = new Map<string, unknown>([
  ['shamir_threshold', 2n],
  ['key_groups', [new Map([['pgp', [new Map([['fp', 'A'], ['created_at', '2024-01-01T00:00:00Z']])]]]), new Map([['age', [new Map([['recipient', 'age1x'], ['enc', 'x\ny']])]]])]],
  ['mac_only_encrypted', true],
  ['lastmodified', '2024-03-25T22:08:10Z'],
]) as PlainMap;

describe('metadata flattening', () => {
  test('flattens with __map_ and __list_<i>, Go scalar text, sorted', () => {
    expect([...flattenMetadata(METADATA, 'sops_')]).toEqual([
      ['sops_key_groups__list_0__map_pgp__list_0__map_created_at', '2024-01-01T00:00:00Z'],
      ['sops_key_groups__list_0__map_pgp__list_0__map_fp', 'A'],
      ['sops_key_groups__list_1__map_age__list_0__map_enc', 'x\ny'],
      ['sops_key_groups__list_1__map_age__list_0__map_recipient', 'age1x'],
      ['sops_lastmodified', '2024-03-25T22:08:10Z'],
      ['sops_mac_only_encrypted', 'true'],
      ['sops_shamir_threshold', '2'],
    ]);
  });

  test('unflatten rebuilds the tree with text values', () => {
    const tree = unflattenMetadata([...flattenMetadata(METADATA, 'sops_'), ['OTHER', 'ignored']], 'sops_');
    expect(tree).toEqual(
      new Map<string, unknown>([
        [
          'key_groups',
          [
            new Map([['pgp', [new Map([['created_at', '2024-01-01T00:00:00Z'], ['fp', 'A']])]]]),
            new Map([['age', [new Map([['enc', 'x\ny'], ['recipient', 'age1x']])]]]),
          ],
        ],
        ['lastmodified', '2024-03-25T22:08:10Z'],
        ['mac_only_encrypted', 'true'],
        ['shamir_threshold', '2'],
      ]),
    );
  });

  test('lists must be complete', () => {
    expect(() => unflattenMetadata([['age__list_1__map_recipient', 'x']], '')).toThrow(
      expect.objectContaining({ code: 'METADATA_INVALID' }),
    );
  });

  test('a key that is both a value and a map is invalid', () => {
    expect(() =>
      unflattenMetadata(
        [
          ['age', 'x'],
          ['age__list_0__map_recipient', 'y'],
        ],
        '',
      ),
    ).toThrow(expect.objectContaining({ code: 'METADATA_INVALID' }));
  });
});
