// The long crash-safety run: SIGKILL at 200 random points of set / updatekeys / rotate on a
// 2,000-value file. Replay a failure with CRASH_SEED=n.
import { describe, expect, it } from 'vitest';
import { runCrashPoints } from './crash-suite.js';

describe('crash safety (stress)', () => {
  it('survives SIGKILL at 200 random points of set, updatekeys and rotate', async () => {
    const figures = await runCrashPoints(200, 100, 20);
    console.log(`crash points survived ${figures.points} (old version ${figures.old}, new version ${figures.new}); temp files left ${figures.tempFilesLeft} (ciphertext only), locks left ${figures.locksLeft}; none blocked the next run`);
    expect(figures.points).toBe(200);
  }, 900_000);
});
