import { defineConfig } from 'vitest/config';

// `npm run test:pack`: the packed tarball installed into a temporary prefix (see test/pack/).
export default defineConfig({
  test: {
    include: ['test/pack/**/*.pack-test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 300_000,
  },
});
