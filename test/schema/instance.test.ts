import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimeValue } from '../../src/format/tree.js';
import { toInstance } from '../../src/schema/instance.js';

/** The definition toInstance's keyless stand-ins follow (a regex, before it was hand-written for speed). */
function standIn(value: string): unknown {
  const type = /^ENC\[AES256_GCM,.*,type:([a-z]+)\]$/s.exec(value)?.[1];
  const standIns: Record<string, unknown> = { str: '', bytes: '', time: '', int: 0, float: 0.5, bool: false };
  return type !== undefined && Object.hasOwn(standIns, type) ? standIns[type] : '';
}

describe('toInstance', () => {
  it('gives each ENC[...] value the stand-in of its type, as the regex definition does', () => {
    const pieces = fc.constantFrom('ENC[', 'AES256_GCM,', 'data:', ',type:', 'str', 'int', 'float', 'bool', 'time', 'bytes', 'x', ']', ',', '\n', 'Q==');
    const value = fc.array(pieces, { maxLength: 12 }).map((parts) => `ENC[${parts.join('')}`);
    fc.assert(
      fc.property(
        fc.oneof(value, value.map((text) => `ENC[AES256_GCM,${text.slice(4)}`)),
        (text) => {
          expect(toInstance(text, true)).toEqual(standIn(text));
        },
      ),
      { numRuns: 3000 },
    );
    expect(toInstance('ENC[AES256_GCM,data:QQ==,iv:QQ==,tag:QQ==,type:int]', true)).toBe(0);
    expect(toInstance('ENC[AES256_GCM,,type:float]', true)).toBe(0.5);
    expect(toInstance('ENC[AES256_GCM,data:a,type:str],type:bool]', true)).toBe(false);
    expect(toInstance('ENC[AES256_GCM,type:int]', true)).toBe('');
    expect(toInstance('ENC[AES256_GCM,data:a,type:constructor]', true)).toBe('');
    expect(toInstance('ENC[AES256_GCM,data:a,type:int]', false)).toBe('ENC[AES256_GCM,data:a,type:int]');
  });

  it('turns maps into objects (a __proto__ key stays a key), ints into numbers, times and bytes into text', () => {
    const map = new Map<string, never>([
      ['__proto__', 1n as never],
      ['when', new TimeValue('2024-01-02T03:04:05Z') as never],
      ['raw', new Uint8Array([104, 105]) as never],
      ['list', [true, null] as never],
    ]);
    const instance = toInstance(map, false) as Record<string, unknown>;
    expect(Object.keys(instance)).toEqual(['__proto__', 'when', 'raw', 'list']);
    expect(Object.getPrototypeOf(instance)).toBe(Object.prototype);
    expect(instance).toEqual(Object.fromEntries([['__proto__', 1], ['when', '2024-01-02T03:04:05Z'], ['raw', 'hi'], ['list', [true, null]]]));
  });
});
