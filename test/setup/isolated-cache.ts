// Every test file gets its own download and layer cache (TSIMG_CACHE_DIR), so no build
// reuses a layer or an ISO that an earlier test file, an earlier run or the user's own
// builds left in ~/.cache/tsimg. Without it, an e2e build that expects to install the OS
// continues from a cached install layer instead, and passes or fails by what ran before.
//
// And its own temporary directory (TMPDIR, which os.tmpdir() and every child process
// read), removed after the file: a test that forgets a directory, or is stopped halfway,
// leaves nothing behind (built images are hundreds of MB; a developer's /tmp once filled
// up with 78 GB of them).
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

// The first file in a worker process sees the real temporary directory; later ones in the
// same process would otherwise see the previous file's, which is gone.
const base = (process.env.TSIMG_TEST_BASE_TMPDIR ??= tmpdir());
const fileTmp = mkdtempSync(join(base, "tsimg-test-"));
// As /tmp is: serve's tests run builds as another user (build_user), who must reach what is in it.
chmodSync(fileTmp, 0o1777);
const cacheDir = join(fileTmp, "cache");
mkdirSync(cacheDir);
process.env.TSIMG_CACHE_DIR = cacheDir;
process.env.TMPDIR = fileTmp;
afterAll(() => rmSync(fileTmp, { recursive: true, force: true }));
