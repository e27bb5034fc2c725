import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { spawnToFile } from "../../src/postprocessors/spawn-to-file.js";
import { tempDir } from "./helpers.js";

// Closing the output descriptor is an await between spawning the program and the program's
// end. Here it is slowed down (as a busy libuv thread pool slows it), so a program that exits
// at once always exits during it. The file itself is real.
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  const open: typeof fs.open = async (...args) => {
    const handle = await fs.open(...args);
    const close = handle.close.bind(handle);
    handle.close = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return close();
    };
    return handle;
  };
  return { ...fs, open };
});

describe("spawnToFile", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (t = await tempDir()));
  afterEach(() => t.done());

  it("a program that exits while its output file is still being closed is not missed (it hung forever)", async () => {
    const run = spawnToFile(["false"], join(t.dir, "out"), { signal: new AbortController().signal });
    const outcome = await Promise.race([
      run.then(
        () => "resolved",
        (error: Error) => error.message,
      ),
      new Promise((resolve) => setTimeout(() => resolve("still waiting after 10 s"), 10_000)),
    ]);
    expect(outcome).toBe("false failed (exit code 1)");
  });

  it("a program that writes and exits at once: its output is hashed", async () => {
    const result = await spawnToFile(["printf", "abc"], join(t.dir, "out"), { signal: new AbortController().signal });
    expect(result).toEqual({
      bytes: 3,
      sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    });
  });
});
