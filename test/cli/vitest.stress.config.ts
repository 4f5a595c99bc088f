// `npm run test:stress`: every long variant (`test/**/*.stress.ts`), kept out of `npm test`.
// It lives here because test/cli owns the script; it runs the whole project's stress files.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../../', import.meta.url)),
    include: ['test/**/*.stress.ts'],
    testTimeout: 300_000,
    pool: 'forks',
  },
});
