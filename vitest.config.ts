import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each test file builds with its own empty cache (see the file).
    setupFiles: ["test/setup/isolated-cache.ts"],
    // e2e tests boot real VMs under TCG on a 2-core machine: one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
