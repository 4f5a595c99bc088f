// kill -9 at random points of `coffer set` / `updatekeys` / `rotate` on a 1,000-value file (the
// built CLI): the file is always the old or the new version. 200 points on 2,000 values: crash.stress.ts.
import { describe, expect, it } from 'vitest';
import { formatCrashFigures, runCrashPoints } from './crash-suite.js';

describe('crash safety', () => {
  it('survives SIGKILL at 15 random points of set, updatekeys and rotate', async () => {
    const figures = await runCrashPoints(15, 50, 20);
    console.log(formatCrashFigures(figures));
    expect(figures.points).toBe(15);
  }, 120_000);
});
