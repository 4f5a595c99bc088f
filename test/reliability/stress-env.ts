// Imported first by fuzz.stress.ts: scales the fuzzer before fuzz.test.ts reads its settings.
process.env.FUZZ_RUNS ??= '6000';
process.env.FUZZ_DEEP_BLOCKS ??= '3000';
