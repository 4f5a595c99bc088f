// Every class of tampering with real encrypted files (YAML, JSON, dotenv, INI by coffer; the SOPS age
// and PGP fixtures) is detected with the right error code or is provably harmless; the figures are printed.
// The every-position variant is tamper.stress.ts.
import { describe, expect, it } from 'vitest';
import { formatCounts, runTamperSuite, useTamperSetup } from './tamper-suite.js';

const setup = useTamperSetup();

describe('tamper mutation suite', () => {
  it('detects every mutation or proves it harmless', async () => {
    const counts = await runTamperSuite(setup.keys, { dense: false, truncationPoints: 40, armorFlipsPerKey: 6 }, setup.gnupg);
    console.log(formatCounts(counts, process.env.TAMPER_VERBOSE === "1"));
    expect(counts.failures).toEqual([]);
    expect(counts.tried).toBeGreaterThan(1000);
    // Every expected kind of detection happened at least once.
    for (const code of ['DECRYPTION_FAILED', 'MALFORMED_ENCRYPTED_VALUE', 'MAC_MISMATCH', 'MAC_MISSING', 'METADATA_INVALID', 'NO_MATCHING_IDENTITY', 'VALUE_NOT_ENCRYPTED', 'UNSUPPORTED_VERSION']) {
      expect(counts.byCode.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    expect(counts.detected).toBeGreaterThan(counts.harmless + counts.accepted);
  });
});

describe('found by the suite', () => {
  it('a value retyped to time must hold an RFC 3339 timestamp, as Go parses it for SOPS', async () => {
    const { decodePlaintext } = await import('../../src/format/values.js');
    const bytes = (text: string) => new TextEncoder().encode(text);
    // Date.parse takes these; SOPS (time.Parse with RFC3339) does not, so a retyped int or float is refused.
    for (const text of ['42', '0.75', 'June 1 2024', '2024-01-02', '2024-01-02 03:04:05']) expect(decodePlaintext(bytes(text), 'time'), text).toBeUndefined();
    for (const text of ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.123+02:00']) expect(String(decodePlaintext(bytes(text), 'time'))).toBe(text);
  });
});
