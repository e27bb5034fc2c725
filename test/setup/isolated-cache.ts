// Every test file gets its own download and layer cache (TSIMG_CACHE_DIR), so no build
// reuses a layer or an ISO that an earlier test file, an earlier run or the user's own
// builds left in ~/.cache/tsimg. Without it, an e2e build that expects to install the OS
// continues from a cached install layer instead, and passes or fails by what ran before.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const cacheDir = mkdtempSync(join(tmpdir(), "tsimg-test-cache-"));
process.env.TSIMG_CACHE_DIR = cacheDir;
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));
