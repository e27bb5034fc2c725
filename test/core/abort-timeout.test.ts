// signalWithTimeout: the build's signal or a time limit, whichever fires first. The time
// limit must fire even after a garbage collection (AbortSignal.timeout inside
// AbortSignal.any did not on Node 20: a provisioner `timeout` never fired).
import { execFileSync } from "node:child_process";
import { describe, expect, it, vi } from "vitest";
import { MAX_TIMER_MS, signalWithTimeout, sleep, startTimer, withTimeout } from "../../src/core/abort.js";
import { CancelledError, TimeoutError } from "../../src/core/errors.js";

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
    const module = new URL("../../src/core/abort.ts", import.meta.url).pathname;
    const script = `
      const { signalWithTimeout } = await import(${JSON.stringify(module)});
      const fired = new Promise((resolve) => signalWithTimeout(new AbortController().signal, 200).signal.addEventListener("abort", () => resolve("fired")));
      setTimeout(() => gc(), 50);
      setTimeout(() => gc(), 120);
      console.log(await Promise.race([fired, new Promise((resolve) => setTimeout(() => resolve("never fired"), 1500))]));
    `;
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script],
      { encoding: "utf8" },
    );
    expect(out.trim()).toBe("fired");
  });
});

// Node's timers hold at most 2^31-1 ms (24.8 days) and fire a longer delay after 1 ms, so
// `shutdown_timeout = "600h"` used to end at once. Every wait goes through startTimer.
describe("waits longer than a Node timer holds", () => {
  const LONG = 600 * 3_600_000; // shutdown_timeout = "600h"
  const settledWithin = async (promise: Promise<unknown>, ms: number) => {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, ms));
    return settled;
  };

  it("sleep, withTimeout and signalWithTimeout of 600 h have not ended after 200 ms", async () => {
    expect(await settledWithin(sleep(LONG), 200)).toBe(false);
    expect(await settledWithin(withTimeout(new Promise(() => undefined), LONG, "shutdown"), 200)).toBe(false);
    const limit = signalWithTimeout(new AbortController().signal, LONG);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(limit.signal.aborted).toBe(false);
    limit.clear();
  });

  it("a 30-day timer fires after 30 days, not before (fake clock)", async () => {
    vi.useFakeTimers();
    try {
      const fired: string[] = [];
      startTimer(30 * 86_400_000, () => fired.push("timer"));
      await vi.advanceTimersByTimeAsync(30 * 86_400_000 - 1);
      expect(fired).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(fired).toEqual(["timer"]);
      expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("withTimeout with a signal rejects with the cancel as soon as the signal fires", async () => {
    const build = new AbortController();
    const wait = withTimeout(new Promise(() => undefined), LONG, "shutdown_command", build.signal);
    build.abort();
    await expect(wait).rejects.toThrow(new CancelledError("build cancelled"));
    await expect(withTimeout(Promise.resolve(1), LONG, "x", build.signal)).rejects.toBeInstanceOf(CancelledError);
  });
});
