import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { combineShares, splitSecret } from '../../src/crypto/shamir.js';
import { CofferError } from '../../src/errors.js';

/** All subsets of `items` of exactly `size` elements. */
function subsets<T>(items: T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, size - 1).map((subset) => [first!, ...subset]), ...subsets(rest, size)];
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('splitSecret / combineShares', () => {
  test('shares are 33 bytes for a data key, x = i+1 in the last byte', () => {
    const shares = splitSecret(randomBytes(32), 5, 3);
    expect(shares.map((share) => share.length)).toEqual([33, 33, 33, 33, 33]);
    expect(shares.map((share) => share[32])).toEqual([1, 2, 3, 4, 5]);
  });

  test('every subset of at least T shares recombines the secret, for small N', () => {
    for (let shareCount = 2; shareCount <= 5; shareCount++) {
      for (let threshold = 2; threshold <= shareCount; threshold++) {
        const secret = randomBytes(32);
        const shares = splitSecret(secret, shareCount, threshold);
        for (let size = threshold; size <= shareCount; size++) {
          for (const subset of subsets(shares, size)) {
            expect(hex(combineShares(subset))).toBe(hex(secret));
            expect(hex(combineShares([...subset].reverse()))).toBe(hex(secret));
          }
        }
      }
    }
  });

  test('fewer than T shares do not give the secret', () => {
    const secret = randomBytes(32);
    const shares = splitSecret(secret, 5, 4);
    for (const subset of [...subsets(shares, 2), ...subsets(shares, 3)]) {
      expect(hex(combineShares(subset))).not.toBe(hex(secret));
    }
  });

  test('property: split then combine the first T shares is the identity', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 0, max: 4 }),
        (secret, threshold, extra) => {
          const shares = splitSecret(secret, threshold + extra, threshold);
          expect(hex(combineShares(shares.slice(extra)))).toBe(hex(secret));
        },
      ),
    );
  });

  test('known answer, computed by hand in GF(2^8) mod 0x11B', () => {
    // f(x) = 0x53 + 0xCA·x:  f(1) = 0x53 ^ 0xCA = 0x99;  0xCA·2 = 0x194 ^ 0x11B = 0x8F, f(2) = 0x53 ^ 0x8F = 0xDC;
    // 0xCA·3 = 0x8F ^ 0xCA = 0x45, f(3) = 0x53 ^ 0x45 = 0x16.
    // Second byte: f(x) = 0x00 + 0x53·x: 0x53, 0xA6, 0xF5 (0x53·3 = 0xA6 ^ 0x53).
    const coefficients = [Uint8Array.of(0xca), Uint8Array.of(0x53)];
    const shares = splitSecret(Uint8Array.of(0x53, 0x00), 3, 2, () => coefficients.shift()!);
    expect(shares.map(hex)).toEqual(['995301', 'dca602', '16f503']);
    expect(hex(combineShares([Uint8Array.of(0x99, 0x53, 1), Uint8Array.of(0x16, 0xf5, 3)]))).toBe('5300');
    // Single-byte shares (1, 0x99) and (2, 0xDC) lie on the same line through (0, 0x53).
    expect(hex(combineShares([Uint8Array.of(0xdc, 2), Uint8Array.of(0x99, 1)]))).toBe('53');
  });

  test('three-share known answer with a quadratic', () => {
    // f(x) = 0x01 + 0x02·x + 0x03·x²:  f(1) = 1^2^3 = 0x00;  f(2) = 1 ^ 4 ^ (3·4 = 0x0C) = 0x09;
    // f(3) = 1 ^ (2·3 = 6) ^ (3·5 = 0x0F) = 0x08.
    const coefficients = [Uint8Array.of(0x02, 0x03)];
    const shares = splitSecret(Uint8Array.of(0x01), 3, 3, () => coefficients.shift()!);
    expect(shares.map(hex)).toEqual(['0001', '0902', '0803']);
    expect(hex(combineShares(shares))).toBe('01');
  });

  test('errors are CofferErrors', () => {
    const expectCode = (run: () => unknown, code: string) => {
      try {
        run();
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(CofferError);
        expect((error as CofferError).code).toBe(code);
      }
    };
    expectCode(() => splitSecret(randomBytes(32), 3, 1), 'USAGE');
    expectCode(() => splitSecret(randomBytes(32), 300, 256), 'USAGE');
    expectCode(() => splitSecret(randomBytes(32), 2, 3), 'USAGE');
    const shares = splitSecret(randomBytes(32), 3, 2);
    expectCode(() => combineShares([shares[0]!]), 'DATA_KEY_INVALID');
    expectCode(() => combineShares([shares[0]!, shares[0]!]), 'DATA_KEY_INVALID');
    expectCode(() => combineShares([shares[0]!, shares[1]!.subarray(1)]), 'DATA_KEY_INVALID');
    expectCode(() => combineShares([Uint8Array.of(1, 0), Uint8Array.of(2, 1)]), 'DATA_KEY_INVALID');
  });
});
