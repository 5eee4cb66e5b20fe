import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic, beside the code, runs anywhere incl. Node 24 CI leg) and
// `integration` (real registry, real dpkg/apt, overlayfs, root). `npm test` runs both.
export default defineConfig({
  test: {
    reporters: ['default', './test/reporter/summary.ts'],
    // integration tests share loopback registries, root-only mounts and a 2-core machine: one file at a time
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          globalSetup: ['./test/helpers/global-setup.ts'],
          // tests reach only loopback and the package mirrors: the EOL API default points at a closed local port
          env: { COPA_EOL_API_URL: 'http://127.0.0.1:9/api/v1/products' },
        },
      },
    ],
  },
});
