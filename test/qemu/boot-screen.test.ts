// Waiting for the boot menu (boot_menu_timeout): the console must show something and then
// stay the same before typing starts. QEMU is a fake whose screendump writes the PPM frames
// a test scripts; the frame comparison and the timing are the real code.
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { isDrawn, waitForBootScreen } from "../../src/qemu/boot-screen.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A 40x20 PPM: black, with `lit` pixels of white from the top-left corner on (row-major, after pixel 0). */
function frame(lit: number, color = 255): Buffer {
  const pixels = Buffer.alloc(40 * 20 * 3);
  for (let i = 1; i <= lit; i++) pixels.fill(color, i * 3, i * 3 + 3);
  return Buffer.concat([Buffer.from("P6\n40 20\n255\n", "latin1"), pixels]);
}

/** A QMP whose screendump writes frames[i] for the i-th call, the last one thereafter. */
function fakeQemu(frames: Buffer[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    execute: async (command: string, args?: Record<string, unknown>) => {
      if (command !== "screendump") throw new Error(`unexpected ${command}`);
      writeFileSync(String(args?.filename), frames[Math.min(calls++, frames.length - 1)]!);
      return {};
    },
  };
}

function options(timeoutMs: number) {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-screen-"));
  dirs.push(dir);
  return { file: join(dir, "screen.ppm"), timeoutMs, settleMs: 50, pollMs: 10, signal: new AbortController().signal };
}

describe("isDrawn", () => {
  test.each([
    ["an all-black screen", frame(0), false],
    ["QEMU's 'not initialized' line (under 1%)", frame(5), false],
    ["a BIOS banner (over 1%)", frame(20), true],
    ["a drawn menu", frame(500), true],
    ["not a PPM", Buffer.from("PNG..."), false],
  ])("%s: %s", (_what, ppm, drawn) => {
    expect(isDrawn(ppm)).toBe(drawn);
  });
});

describe("waitForBootScreen", () => {
  test("waits through a blank screen and a changing one, and returns once the menu stays put", async () => {
    // blank x3, BIOS text, menu drawing, then the menu for good
    const qemu = fakeQemu([frame(0), frame(0), frame(0), frame(20), frame(300), frame(500)]);
    const o = options(5000);
    const result = await waitForBootScreen(qemu, o);
    expect(result.settled).toBe(true);
    // Six frames to reach the menu, then at least one more of it, settleMs later.
    expect(qemu.calls).toBeGreaterThanOrEqual(7);
    expect(result.waitedMs).toBeGreaterThanOrEqual(50);
    expect(existsSync(o.file)).toBe(false);
  });

  test("a blank screen that never changes is not a menu: gives up at the timeout", async () => {
    const qemu = fakeQemu([frame(0)]);
    const result = await waitForBootScreen(qemu, options(200));
    expect(result).toMatchObject({ settled: false, reason: "timeout" });
    expect(result.waitedMs).toBeGreaterThanOrEqual(200);
  });

  test("a screen that keeps changing gives up at the timeout", async () => {
    const frames = Array.from({ length: 1000 }, (_, i) => frame(100 + (i % 2)));
    const result = await waitForBootScreen(fakeQemu(frames), options(200));
    expect(result).toMatchObject({ settled: false, reason: "timeout" });
  });

  test("a QEMU that cannot dump the screen ends the wait at once", async () => {
    const qemu = {
      execute: async () => {
        throw new Error("QMP screendump failed: no surface");
      },
    };
    const result = await waitForBootScreen(qemu, options(5000));
    expect(result).toMatchObject({
      settled: false,
      reason: "no-screen",
      detail: expect.stringContaining("no surface"),
    });
    expect(result.waitedMs).toBeLessThan(1000);
  });

  test("an abort stops the wait", async () => {
    const controller = new AbortController();
    const qemu = fakeQemu([frame(0)]);
    const wait = waitForBootScreen(qemu, { ...options(60_000), signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stopped")), 50);
    await expect(wait).rejects.toThrow("stopped");
  });
});
