// `npm run test:stress`: the long CLI variants, kept out of `npm test` (they take about a minute).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../../', import.meta.url)),
    include: ['test/cli/**/*.stress.ts'],
    testTimeout: 300_000,
    pool: 'forks',
  },
});
