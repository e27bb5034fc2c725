import { afterEach, describe, expect, test, vi } from "vitest";
import { CancelledError, QemuError, TsimgError } from "../../src/core/errors.js";
import { raceAbort } from "../../src/core/abort.js";
import { EventBus } from "../../src/core/event-bus.js";
import type { BuildEvent } from "../../src/core/events.js";
import { Masker } from "../../src/core/masker.js";
import { runSteps, when, type Outcome, type Step, type StepContext } from "../../src/core/runner.js";

type Behaviour = "ok" | "throw" | "wait-for-abort" | ((ctx: StepContext) => Promise<void>);

interface Harness {
  controller: AbortController;
  ctx: StepContext;
  /** "run a", "cleanup a ok", ... in the order they happened. */
  calls: string[];
  events: BuildEvent[];
  /** Signals the cleanups saw (they must get a fresh, unaborted one). */
  cleanupSignals: AbortSignal[];
  step(name: string, behaviour?: Behaviour, options?: { cleanup?: "ok" | "throw" | "hang" | "none" }): Step<void>;
  /** Resolves once the named step's run has started. */
  started(name: string): Promise<void>;
}

function harness(): Harness {
  const controller = new AbortController();
  const events: BuildEvent[] = [];
  const bus = new EventBus("test-build", new Masker());
  bus.on((event) => events.push(event));
  const ctx: StepContext = { signal: controller.signal, events: bus };
  const calls: string[] = [];
  const cleanupSignals: AbortSignal[] = [];
  const waiters = new Map<string, () => void>();
  const startedPromises = new Map<string, Promise<void>>();
  const startedPromise = (name: string) => {
    let promise = startedPromises.get(name);
    if (!promise) {
      promise = new Promise<void>((resolve) => waiters.set(name, resolve));
      startedPromises.set(name, promise);
    }
    return promise;
  };
  return {
    controller,
    ctx,
    calls,
    events,
    cleanupSignals,
    started: startedPromise,
    step(name, behaviour = "ok", options = {}) {
      const cleanup = options.cleanup ?? "ok";
      const step: Step<void> = {
        name,
        title: `title of ${name}`,
        async run(runCtx) {
          calls.push(`run ${name}`);
          void startedPromise(name);
          waiters.get(name)?.();
          if (behaviour === "throw") throw new TsimgError(`${name} broke`);
          if (behaviour === "wait-for-abort") {
            // Like a real step: its wait is raced against the build's signal.
            await raceAbort(new Promise<void>(() => {}), runCtx.signal);
          } else if (typeof behaviour === "function") await behaviour(runCtx);
        },
      };
      if (cleanup !== "none") {
        step.cleanup = async (cleanupCtx, _input, _output, outcome: Outcome) => {
          calls.push(`cleanup ${name} ${outcome}`);
          cleanupSignals.push(cleanupCtx.signal);
          if (cleanup === "throw") throw new Error(`cleanup of ${name} broke`);
          if (cleanup === "hang") await new Promise<void>(() => {});
        };
      }
      return step;
    },
  };
}

/** The step-start/step-end/log events, without build name and times. */
function summary(events: BuildEvent[]): string[] {
  return events.map((event) => {
    switch (event.type) {
      case "step-start":
        return `start ${event.step} "${event.title}"`;
      case "step-end":
        return `end ${event.step} ${event.outcome}`;
      case "log":
        return `${event.level} ${event.message}`;
      default:
        return event.type;
    }
  });
}

/** Runs the steps and returns what they threw (undefined if they succeeded). */
async function runAndCatch(h: Harness, steps: Step<void>[]): Promise<unknown> {
  try {
    await runSteps(steps, undefined, h.ctx);
    return undefined;
  } catch (error) {
    return error;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("runSteps", () => {
  test("runs every step in order, then cleans up in reverse with outcome ok", async () => {
    const h = harness();
    const error = await runAndCatch(h, [h.step("a"), h.step("b"), h.step("c")]);
    expect(error).toBeUndefined();
    expect(h.calls).toEqual(["run a", "run b", "run c", "cleanup c ok", "cleanup b ok", "cleanup a ok"]);
    expect(summary(h.events)).toEqual([
      'start a "title of a"',
      "end a ok",
      'start b "title of b"',
      "end b ok",
      'start c "title of c"',
      "end c ok",
    ]);
    for (const event of h.events) expect(event.build).toBe("test-build");
  });

  test("a failing step stops the build: only started steps are cleaned up, in reverse, with outcome failed", async () => {
    const h = harness();
    const error = await runAndCatch(h, [
      h.step("a"),
      h.step("b", "ok", { cleanup: "none" }),
      h.step("c", "throw"),
      h.step("d"),
    ]);
    expect(error).toBeInstanceOf(TsimgError);
    expect((error as Error).message).toBe("c broke");
    expect(h.calls).toEqual(["run a", "run b", "run c", "cleanup c failed", "cleanup a failed"]);
    expect(summary(h.events)).toEqual([
      'start a "title of a"',
      "end a ok",
      'start b "title of b"',
      "end b ok",
      'start c "title of c"',
      "end c failed",
    ]);
  });

  test("the first step failing cleans up only that step", async () => {
    const h = harness();
    const error = await runAndCatch(h, [h.step("a", "throw"), h.step("b")]);
    expect((error as Error).message).toBe("a broke");
    expect(h.calls).toEqual(["run a", "cleanup a failed"]);
  });

  test("cancelling through the signal stops the running step; cleanups see outcome cancelled", async () => {
    const h = harness();
    const steps = [h.step("a"), h.step("b", "wait-for-abort"), h.step("c")];
    const running = runAndCatch(h, steps);
    await h.started("b");
    h.controller.abort();
    const error = await running;
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as Error).message).toBe("build cancelled");
    expect(h.calls).toEqual(["run a", "run b", "cleanup b cancelled", "cleanup a cancelled"]);
    expect(summary(h.events)).toEqual(['start a "title of a"', "end a ok", 'start b "title of b"', "end b cancelled"]);
    // Cleanups must be able to wait for things even though the build's signal fired.
    expect(h.cleanupSignals.map((signal) => signal.aborted)).toEqual([false, false]);
  });

  test("a CancelledError given as the abort reason is the error thrown", async () => {
    const h = harness();
    const reason = new CancelledError("interrupted (SIGINT)");
    const running = runAndCatch(h, [h.step("a", "wait-for-abort")]);
    await h.started("a");
    h.controller.abort(reason);
    expect(await running).toBe(reason);
    expect(h.calls).toEqual(["run a", "cleanup a cancelled"]);
  });

  test("a signal aborted before the first step runs nothing and throws CancelledError", async () => {
    const h = harness();
    h.controller.abort();
    const error = await runAndCatch(h, [h.step("a"), h.step("b")]);
    expect(error).toBeInstanceOf(CancelledError);
    expect(h.calls).toEqual([]);
    expect(h.events).toEqual([]);
  });

  test("an abort during a step that still succeeds stops the build before the next step", async () => {
    const h = harness();
    const first = h.step("a", async () => h.controller.abort());
    const error = await runAndCatch(h, [first, h.step("b")]);
    expect(error).toBeInstanceOf(CancelledError);
    expect(h.calls).toEqual(["run a", "cleanup a cancelled"]);
    expect(summary(h.events)).toEqual(['start a "title of a"', "end a ok"]);
  });

  test("an abort with a non-cancel reason (QEMU died) rethrows that reason, not the step's own error, with outcome failed", async () => {
    const h = harness();
    const qemuDied = new QemuError("QEMU exited with code 1");
    // The step's wait breaks in its own way (the QMP socket closed) once QEMU is gone.
    const waiting = h.step("boot", async (ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      throw new QemuError("QMP send-key: QEMU closed the connection");
    });
    const running = runAndCatch(h, [h.step("start-qemu"), waiting, h.step("wait-ssh")]);
    await h.started("boot");
    h.controller.abort(qemuDied);
    const error = await running;
    expect(error).toBe(qemuDied);
    expect(h.calls).toEqual(["run start-qemu", "run boot", "cleanup boot failed", "cleanup start-qemu failed"]);
    expect(summary(h.events)).toEqual([
      'start start-qemu "title of start-qemu"',
      "end start-qemu ok",
      'start boot "title of boot"',
      "end boot failed",
    ]);
  });

  test("a cleanup that throws is reported as a warning; the other cleanups run and the build's error is still thrown", async () => {
    const h = harness();
    const error = await runAndCatch(h, [h.step("a"), h.step("b", "ok", { cleanup: "throw" }), h.step("c", "throw")]);
    expect((error as Error).message).toBe("c broke");
    expect(h.calls).toEqual(["run a", "run b", "run c", "cleanup c failed", "cleanup b failed", "cleanup a failed"]);
    expect(summary(h.events)).toEqual([
      'start a "title of a"',
      "end a ok",
      'start b "title of b"',
      "end b ok",
      'start c "title of c"',
      "end c failed",
      'warn cleanup of step "b" failed: cleanup of b broke',
    ]);
  });

  test("a cleanup that throws after a successful build does not fail it", async () => {
    const h = harness();
    const error = await runAndCatch(h, [h.step("a", "ok", { cleanup: "throw" }), h.step("b")]);
    expect(error).toBeUndefined();
    expect(h.calls).toEqual(["run a", "run b", "cleanup b ok", "cleanup a ok"]);
    expect(summary(h.events).at(-1)).toBe('warn cleanup of step "a" failed: cleanup of a broke');
  });

  test("a cleanup that hangs is given up on after its time limit and the next cleanup runs", async () => {
    vi.useFakeTimers();
    const h = harness();
    const running = runAndCatch(h, [h.step("a"), h.step("b", "ok", { cleanup: "hang" })]);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(h.calls).toEqual(["run a", "run b", "cleanup b ok"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await running).toBeUndefined();
    expect(h.calls).toEqual(["run a", "run b", "cleanup b ok", "cleanup a ok"]);
    expect(summary(h.events).at(-1)).toBe('warn cleanup of step "b" failed: cleanup did not finish within 30 s');
  });
});

describe("when", () => {
  test.each([
    [true, ["a"]],
    [false, []],
  ])("when(%s, step) gives %j", (condition, names) => {
    const h = harness();
    expect(when(condition, h.step("a")).map((step) => step.name)).toEqual(names);
  });
});

describe("runSteps with onStepError (--on-error=ask)", () => {
  test("retry runs the failed step again and the build goes on when it succeeds", async () => {
    const h = harness();
    let attempts = 0;
    const flaky = h.step("flaky", async () => {
      if (++attempts < 3) throw new TsimgError(`attempt ${attempts} broke`);
    });
    const asked: string[] = [];
    const choice = await runSteps([h.step("a"), flaky, h.step("b")], undefined, h.ctx, {
      onStepError: async (step, error) => (asked.push(`${step}: ${(error as Error).message}`), "retry"),
    });
    expect(asked).toEqual(["flaky: attempt 1 broke", "flaky: attempt 2 broke"]);
    expect(choice).toBe("retry");
    expect(h.calls).toEqual([
      "run a",
      "run flaky",
      "run flaky",
      "run flaky",
      "run b",
      "cleanup b ok",
      "cleanup flaky ok",
      "cleanup a ok",
    ]);
  });

  test("cleanup and abort give up with the step's error; the caller learns which", async () => {
    for (const answer of ["cleanup", "abort"] as const) {
      const h = harness();
      let result: unknown;
      await runSteps([h.step("a"), h.step("bad", "throw"), h.step("never")], undefined, h.ctx, {
        onStepError: async () => answer,
      }).then(
        (r) => (result = r),
        (e: Error) => (result = e.message),
      );
      expect(result).toBe("bad broke");
      expect(h.calls).toEqual(["run a", "run bad", "cleanup bad failed", "cleanup a failed"]);
    }
  });

  test("a build cancelled while asking does not run the step again, even when the answer is retry", async () => {
    const h = harness();
    const ask = vi.fn(async () => {
      h.controller.abort(new CancelledError("stop"));
      return "retry" as const;
    });
    const error = await runSteps([h.step("a"), h.step("bad", "throw"), h.step("never")], undefined, h.ctx, {
      onStepError: ask,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as Error).message).toBe("stop");
    expect(ask).toHaveBeenCalledTimes(1);
    expect(h.calls).toEqual(["run a", "run bad", "cleanup bad cancelled", "cleanup a cancelled"]);
    expect(summary(h.events).filter((line) => line.startsWith("info"))).toEqual([]);
  });

  test("a cancellation does not wait for the person to answer", async () => {
    const h = harness();
    let answer: (choice: "retry") => void = () => {};
    let asked: () => void = () => {};
    const askedPromise = new Promise<void>((resolve) => (asked = resolve));
    const onStepError = () => (asked(), new Promise<"retry">((resolve) => (answer = resolve)));
    const run = runSteps([h.step("bad", "throw")], undefined, h.ctx, { onStepError });
    await askedPromise;
    h.controller.abort(new CancelledError("stop"));
    await expect(run).rejects.toThrow("stop");
    answer("retry");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(h.calls).toEqual(["run bad", "cleanup bad cancelled"]);
  });

  test("an asker that throws gives up: the cleanups run and the step's error is thrown, with a warning", async () => {
    const h = harness();
    const run = runSteps([h.step("a"), h.step("bad", "throw")], undefined, h.ctx, {
      onStepError: async () => {
        throw new Error("stdin closed");
      },
    });
    await expect(run).rejects.toThrow("bad broke");
    expect(h.calls).toEqual(["run a", "run bad", "cleanup bad failed", "cleanup a failed"]);
    expect(summary(h.events)).toContain('warn could not ask what to do about step "bad": stdin closed');
  });

  test("a cancelled build is not asked about", async () => {
    const h = harness();
    const ask = vi.fn(async () => "retry" as const);
    const run = runSteps([h.step("waits", "wait-for-abort")], undefined, h.ctx, { onStepError: ask });
    await h.started("waits");
    h.controller.abort(new CancelledError("stop"));
    await expect(run).rejects.toThrow("stop");
    expect(ask).not.toHaveBeenCalled();
  });
});
