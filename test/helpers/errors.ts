// The error a call must fail with, for assertions on its code, message and hints.
import { expect } from 'vitest';
import { CofferError } from '../../src/errors.js';

/** What `promise` rejects with; fails the test unless that is a CofferError. */
export async function rejection(promise: Promise<unknown>): Promise<CofferError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CofferError);
  return error as CofferError;
}
