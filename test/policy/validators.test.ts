import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('generated validators (src/policy/coffer-validator.ts, src/schema/*-validator.ts)', () => {
  it('match the schemas they were generated from', async () => {
    // fails with "... is stale" after a schema change: run `node scripts/generate-validators.mjs`
    const result = await promisify(execFile)(process.execPath, ['scripts/generate-validators.mjs', '--check']).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result).toEqual({ code: 0, stderr: '' });
  }, 60_000);
});
