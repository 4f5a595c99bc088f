// The every-position tamper run: every character of every ENC field flipped, 400 truncation points,
// 40 flips per wrapped data key, over every fixture (coffer YAML/JSON/dotenv/INI, SOPS age and PGP).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGnupgHome, type GnupgHome } from '../helpers/gnupg.js';
import { formatCounts, makeTamperKeys, runTamperSuite, type TamperKeys } from './tamper-suite.js';

let keys: TamperKeys;
let gnupg: GnupgHome;
beforeAll(async () => {
  keys = await makeTamperKeys();
  gnupg = await createGnupgHome({ importFixtureKey: true });
});
afterAll(() => gnupg?.remove());

describe('tamper mutation suite (stress)', () => {
  it('detects every mutation at every position or proves it harmless', async () => {
    const counts = await runTamperSuite(keys, { dense: true, truncationPoints: 400, armorFlipsPerKey: 40 }, gnupg);
    console.log(formatCounts(counts, true));
    expect(counts.failures).toEqual([]);
  }, 900_000);
});
