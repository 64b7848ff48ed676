// `npm run test:browser`: the tests that drive a real Chromium (test/browser). Kept out of `npm test`
// because they need the system browser: apt-get install -y chromium (or set CHROMIUM_PATH).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/browser/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One browser at a time: the files run one after another.
    fileParallelism: false,
  },
});
