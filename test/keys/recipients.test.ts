import { describe, expect, test } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { parseAgeRecipientList, recipientsFromFlags, splitRecipientList } from '../../src/keys/recipients.js';

const A = 'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr';
const B = 'age19j4d6v9j7rx5fs629fu387qz4zmlpsqjexa4s08tkfrrmfdl5cwqjlaupd';
const C = 'age13runq29jhy9kfpaegczrzttykerswh0qprq59msgd754yermtfmsa3hwg2';

describe('recipient lists', () => {
  test('comma-separated and repeatable, trimmed', () => {
    expect(splitRecipientList([`${A}, ${B}`, ` ${C} `, ''])).toEqual([A, B, C]);
    expect(parseAgeRecipientList([`${A},${B}`, C])).toEqual([A, B, C]);
  });

  test('a bad recipient names its position in the whole list', () => {
    try {
      parseAgeRecipientList([`${A},${B}`, 'age1wrong']);
      expect.unreachable();
    } catch (error) {
      expect((error as CofferError).code).toBe('INVALID_RECIPIENT');
      expect((error as CofferError).message).toContain('#3');
    }
  });
});

describe('recipientsFromFlags', () => {
  test('--age wins over SOPS_AGE_RECIPIENTS', () => {
    expect(recipientsFromFlags({ age: [A] }, { SOPS_AGE_RECIPIENTS: B })).toEqual({ age: [A], pgp: [] });
  });

  test('SOPS_AGE_RECIPIENTS and SOPS_PGP_FP when no flags', () => {
    expect(recipientsFromFlags({}, { SOPS_AGE_RECIPIENTS: `${A},${B}`, SOPS_PGP_FP: 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4' })).toEqual({
      age: [A, B],
      pgp: ['FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4'],
    });
  });

  test('nothing given (or empty variables) means the config decides', () => {
    expect(recipientsFromFlags({}, {})).toBeUndefined();
    expect(recipientsFromFlags({ age: [] }, { SOPS_AGE_RECIPIENTS: '' })).toBeUndefined();
  });

  test('other key sources are UNSUPPORTED_KEY_SOURCE', () => {
    expect(() => recipientsFromFlags({ age: [A] }, { SOPS_KMS_ARN: 'arn:aws:kms:x' })).toThrow(/SOPS_KMS_ARN/);
    expect(() => recipientsFromFlags({ other: ['--gcp-kms'] }, {})).toThrow(CofferError);
  });
});
