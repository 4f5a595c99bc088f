import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEncryptedValue } from '../../src/format/encrypted-value.js';
import { isWellFormedEncryptedValue } from '../../src/verify/file-checks.js';

const accepts = (value: string) => {
  try {
    parseEncryptedValue(value, 'f: k');
    return true;
  } catch {
    return false;
  }
};

describe('isWellFormedEncryptedValue', () => {
  it('accepts values SOPS writes', () => {
    for (const value of [
      'ENC[AES256_GCM,data:aB22,iv:eEmUA04LeCxKzBtwXCcTcTxrn54GD+ZIZbC4ui/qYNw=,tag:yzSfFUoTUFnX0CsJLpbjwQ==,type:str]',
      'ENC[AES256_GCM,data:RA==,iv:HBKnw2NdJE+NGRgh/I9k8Mwvn0ilKkWmCYYvgv4j2Ws=,tag:ggOxxBT3OSB2Os7tD6aSKA==,type:int]',
      'ENC[AES256_GCM,data:Cg==,iv:QUFBQUFBQUFBQUFB,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:comment]',
    ]) {
      expect(isWellFormedEncryptedValue(value)).toBe(true);
      expect(accepts(value)).toBe(true);
    }
  });

  it('never accepts what parseEncryptedValue rejects', () => {
    const encoded = (bytes: fc.Arbitrary<Uint8Array>) => bytes.map((data) => Buffer.from(data).toString('base64'));
    const base64 = fc.oneof(
      encoded(fc.uint8Array({ maxLength: 20 })),
      fc.string({ unit: fc.constantFrom('A', 'b', '9', '+', '/', '=', ',', ':', ']', '-', '_'), maxLength: 30 }),
    );
    const tags = fc.oneof(encoded(fc.uint8Array({ minLength: 16, maxLength: 16 })), encoded(fc.uint8Array({ minLength: 15, maxLength: 17 })), base64);
    const type = fc.constantFrom('str', 'int', 'float', 'bool', 'bytes', 'time', 'comment', 'strr', 'Str', '');
    const value = fc
      .tuple(fc.constantFrom('ENC[AES256_GCM,', 'ENC[AES256_GCM ', 'ENC[aes256_gcm,'), base64, base64, tags, type, fc.constantFrom(']', '', ']x', ']\n'))
      .map(([prefix, data, iv, tag, kind, end]) => `${prefix}data:${data},iv:${iv},tag:${tag},type:${kind}${end}`);
    let wellFormed = 0;
    fc.assert(
      fc.property(value, (text) => {
        if (!isWellFormedEncryptedValue(text)) return;
        wellFormed++;
        expect(accepts(text)).toBe(true);
      }),
      { numRuns: 10_000 },
    );
    // the property is not vacuous: a fair share of the generated values are well formed
    expect(wellFormed).toBeGreaterThan(20);
  });
});
