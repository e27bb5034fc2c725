import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { appendFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { followAndHash } from "../../src/postprocessors/hash-follower.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Resolves once `condition` holds, checking every 20 ms; gives up (and lets the test's expect fail) after `ms`. */
async function until(condition: () => boolean, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; !condition() && Date.now() < deadline;) await sleep(20);
}
/** Paths this process has open, from /proc. */
const openPaths = () =>
  readdirSync("/proc/self/fd").map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return "";
    }
  });

describe("followAndHash", () => {
  let dir: string;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), "tsimg-follow-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("hashes a file that does not exist yet and grows in pieces, to the last byte", async () => {
    const path = join(dir, "growing");
    const follower = followAndHash(path);
    await sleep(50);
    for (let i = 0; i < 12; i++) {
      // Uneven pieces, some larger than the follower's 1 MiB reads.
      await appendFile(path, randomBytes(300_000 * (i % 5) + 1));
      await sleep(10);
    }
    const result = await follower.finish();
    const written = await readFile(path);
    expect(result).toEqual({ bytes: written.length, sha256: createHash("sha256").update(written).digest("hex") });
    await follower.stop();
    expect(openPaths()).not.toContain(path);
  });

  it("a writer that never made the file gives zero bytes; stop() closes the file it follows", async () => {
    const empty = followAndHash(join(dir, "never"));
    expect(await empty.finish()).toEqual({ bytes: 0, sha256: createHash("sha256").digest("hex") });

    const path = join(dir, "abandoned");
    await appendFile(path, "partial output");
    const follower = followAndHash(path);
    // The worker thread opens the file once it has started: on a loaded machine (CI) that
    // took over 100 ms, so wait for it rather than for a fixed time.
    await until(() => openPaths().includes(path), 10_000);
    expect(openPaths()).toContain(path);
    await follower.stop();
    expect(openPaths()).not.toContain(path);
  });
});
