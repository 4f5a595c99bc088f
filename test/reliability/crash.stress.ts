// The long crash-safety run: SIGKILL at 200 random points of set / updatekeys / rotate on a
// 2,000-value file. Replay a failure with CRASH_SEED=n.
import { describe, expect, it } from 'vitest';
import { formatCrashFigures, runCrashPoints } from './crash-suite.js';

describe('crash safety (stress)', () => {
  it('survives SIGKILL at 200 random points of set, updatekeys and rotate', async () => {
    const figures = await runCrashPoints(200, 100, 20);
    console.log(formatCrashFigures(figures));
    expect(figures.points).toBe(200);
  }, 900_000);
});
