// The shutdown step must stop waiting the moment the build is cancelled: a hung
// shutdown_command with shutdown_timeout = "120m" (the Rocky template) used to hold Ctrl-C
// for two hours. SSH and QEMU are stand-ins that never finish, which is what a hung
// guest looks like from here; the step and its timers are real.
import { describe, expect, test } from "vitest";
import { shutdown, waitForPowerOff } from "../../src/builder/steps/shutdown.js";
import { EventBus } from "../../src/core/event-bus.js";
import { Masker } from "../../src/core/masker.js";
import { CancelledError } from "../../src/core/errors.js";
import type { BuildPlan } from "../../src/builder/plan.js";
import { stepContext } from "./step-context.js";

type PowerOffInput = Parameters<typeof shutdown.run>[1];

const never = new Promise<never>(() => undefined);

function hungGuest(shutdownCommand: string) {
  const calls: string[] = [];
  const plan = {
    source: { shutdown_command: shutdownCommand, shutdown_timeout: 120 * 60_000 },
  } as unknown as BuildPlan;
  const state = {
    ssh: {
      session: {
        exec: (command: string) => (calls.push(`ssh ${command}`), never),
        close: () => void calls.push("ssh close"),
      },
    },
    guest: { resets: 0, expectingExit: false },
    qemu: { exited: never, kill: async () => void calls.push("kill") },
    qmp: { execute: async (command: string) => void calls.push(`qmp ${command}`) },
  } as unknown as PowerOffInput;
  return { plan, state, calls };
}

/** Runs the step, cancels it after `afterMs`, and says how it ended (or that it was still running 5 s later). */
async function cancelDuring(
  step: typeof shutdown,
  plan: BuildPlan,
  state: PowerOffInput,
  afterMs: number,
): Promise<unknown> {
  const build = new AbortController();
  const events = new EventBus("rocky9", new Masker());
  const run = step.run(stepContext(plan, { signal: build.signal, events }), state, undefined).then(
    () => "finished",
    (error: unknown) => error,
  );
  setTimeout(() => build.abort(), afterMs);
  const late = new Promise((resolve) =>
    setTimeout(() => resolve("still running 5 s after the cancel"), afterMs + 5000),
  );
  return Promise.race([run, late]);
}

describe("shutdown steps and a cancelled build", () => {
  test("Ctrl-C while shutdown_command hangs ends the step with the cancel", async () => {
    const { plan, state, calls } = hungGuest("/sbin/halt -h -p");
    const outcome = await cancelDuring(shutdown, plan, state, 100);
    expect(outcome).toEqual(new CancelledError("build cancelled"));
    expect(calls).toEqual(["ssh /sbin/halt -h -p"]);
  });

  test("Ctrl-C while waiting for QEMU to exit after the ACPI power button ends the step", async () => {
    const { plan, state, calls } = hungGuest("");
    const outcome = await cancelDuring(shutdown, plan, state, 100);
    expect(outcome).toEqual(new CancelledError("build cancelled"));
    expect(calls).toEqual(["qmp system_powerdown"]);
  });

  test("Ctrl-C while waiting for the guest to power off by itself ends the step", async () => {
    const { plan, state } = hungGuest("");
    expect(await cancelDuring(waitForPowerOff, plan, state, 100)).toEqual(new CancelledError("build cancelled"));
  });
});
