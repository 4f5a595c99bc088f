import { describe, expect, test } from 'vitest';
import { decodeBech32, encodeBech32 } from '../../src/keys/bech32.js';

describe('bech32', () => {
  test('BIP 173 valid vectors', () => {
    for (const text of [
      'A12UEL5L',
      'a12uel5l',
      'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
    ]) {
      expect(decodeBech32(text), text).toBeDefined();
    }
  });

  test('BIP 173 invalid vectors', () => {
    for (const text of ['pzry9x0s0muk', '1pzry9x0s0muk', 'x1b4n0q5v', 'li1dgmt3', 'A1G7SGD8', '10a06t8', '1qzzfhee', 'A12UeL5L']) {
      expect(decodeBech32(text), text).toBeUndefined();
    }
  });

  test('round-trips bytes and reads the fixture recipient', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const encoded = encodeBech32('age', bytes);
    expect(decodeBech32(encoded)).toEqual({ prefix: 'age', bytes });
    expect(decodeBech32(encoded.toUpperCase())).toEqual({ prefix: 'age', bytes });
    const recipient = decodeBech32('age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr');
    expect(recipient?.prefix).toBe('age');
    expect(recipient?.bytes.length).toBe(32);
    expect(encodeBech32('age', recipient!.bytes)).toBe('age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr');
  });
});
