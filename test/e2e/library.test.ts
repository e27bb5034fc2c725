// Done-when 3 of the templates issue: the library API, used as another tool would use it
// (import from "tsimg"), builds the tinyos image; a second run cancelled halfway through
// by an AbortSignal leaves nothing behind.
import { existsSync, statSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, qemuPids, requireFixture, waitNoQemu } from "./helpers.js";

describe("library API", () => {
  beforeAll(requireFixture);

  it("builds, and a cancelled build leaves no output and no QEMU", async () => {
    // The package's own entry point, exactly what `import ... from "tsimg"` loads.
    const tsimg = await import("tsimg");
    const first = makeProject();
    const done = await tsimg.build(tsimg.loadTemplate(first.template));
    expect(done.error?.message).toBeUndefined();
    expect(done.ok).toBe(true);
    expect(statSync(done.artifact!).size).toBeGreaterThan(1024 * 1024);

    const second = makeProject();
    const controller = new AbortController();
    const steps: string[] = [];
    let qemuRunning = 0;
    const cancelled = await tsimg.build(tsimg.loadTemplate(second.template), {
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === "step-start") steps.push(event.step);
        // Halfway: the installer is running inside QEMU.
        if (
          event.type === "serial" &&
          event.line.includes("TSIMG-MARK kickstart-fetched") &&
          !controller.signal.aborted
        ) {
          qemuRunning = qemuPids(second.vmName).length;
          controller.abort();
        }
      },
    });
    expect(qemuRunning).toBe(1);
    expect(steps).toContain("wait-ssh");
    expect(cancelled).toMatchObject({ ok: false, cancelled: true });
    expect(cancelled.error?.message).toBe("build cancelled");
    expect(existsSync(second.output)).toBe(false);
    expect(await waitNoQemu(second.vmName, 1000)).toEqual([]);
  }, 600_000);
});
