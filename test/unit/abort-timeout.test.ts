// signalWithTimeout: the build's signal or a time limit, whichever fires first. The time
// limit must fire even after a garbage collection (AbortSignal.timeout inside
// AbortSignal.any did not on Node 20: a provisioner `timeout` never fired).
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { signalWithTimeout } from "../../src/engine/abort.js";
import { TimeoutError } from "../../src/errors.js";

describe("signalWithTimeout", () => {
  it("fires after the time, says so, and its reason is a TimeoutError", async () => {
    const parent = new AbortController();
    const limit = signalWithTimeout(parent.signal, 50);
    await new Promise((resolve) => limit.signal.addEventListener("abort", resolve, { once: true }));
    expect(limit.timedOut).toBe(true);
    expect(limit.signal.reason).toBeInstanceOf(TimeoutError);
    limit.clear();
  });

  it("fires at once with the parent's reason when the parent fires first; clear() stops the timer", async () => {
    const parent = new AbortController();
    const limit = signalWithTimeout(parent.signal, 60_000);
    parent.abort(new Error("QEMU died"));
    expect(limit.signal.aborted).toBe(true);
    expect((limit.signal.reason as Error).message).toBe("QEMU died");
    expect(limit.timedOut).toBe(false);
    limit.clear();

    const quiet = signalWithTimeout(new AbortController().signal, 50);
    quiet.clear();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(quiet.signal.aborted).toBe(false);
  });

  it("still fires when garbage collections run while it waits and only a listener holds it", () => {
    // In a fresh Node with --expose-gc: nothing but the abort listener refers to the signal.
    const module = new URL("../../src/engine/abort.ts", import.meta.url).pathname;
    const script = `
      const { signalWithTimeout } = await import(${JSON.stringify(module)});
      const fired = new Promise((resolve) => signalWithTimeout(new AbortController().signal, 200).signal.addEventListener("abort", () => resolve("fired")));
      setTimeout(() => gc(), 50);
      setTimeout(() => gc(), 120);
      console.log(await Promise.race([fired, new Promise((resolve) => setTimeout(() => resolve("never fired"), 1500))]));
    `;
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(out.trim()).toBe("fired");
  });
});
