import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/browser needs a system Chromium: `npm run test:browser` (vitest.browser.config.ts).
    exclude: ['test/browser/**', ...configDefaults.exclude],
    testTimeout: 20000,
    pool: 'forks',
  },
});
