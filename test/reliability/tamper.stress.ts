// The every-position tamper run: every character of every ENC field flipped, 400 truncation points,
// 40 flips per wrapped data key, over every fixture (coffer YAML/JSON/dotenv/INI, SOPS age and PGP).
import { describe, expect, it } from 'vitest';
import { formatCounts, runTamperSuite, useTamperSetup } from './tamper-suite.js';

const setup = useTamperSetup();

describe('tamper mutation suite (stress)', () => {
  it('detects every mutation at every position or proves it harmless', async () => {
    const counts = await runTamperSuite(setup.keys, { dense: true, truncationPoints: 400, armorFlipsPerKey: 40 }, setup.gnupg);
    console.log(formatCounts(counts, true));
    expect(counts.failures).toEqual([]);
  }, 900_000);
});
