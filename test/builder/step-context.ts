// A qemu builder step's context for step tests: the plan (often a partial stand-in cast to
// BuildPlan), the build's options, the signal and the event bus.
import type { BuildContext, BuildOptions, BuildStepContext } from "../../src/builder/context.js";
import type { BuildPlan } from "../../src/builder/plan.js";
import { VmConsole } from "../../src/builder/screenshot.js";
import { EventBus } from "../../src/core/event-bus.js";
import { Masker } from "../../src/core/masker.js";

export interface StepContextOptions {
  options?: Partial<BuildOptions>;
  signal?: AbortSignal;
  events?: EventBus;
}

/** A build context around `plan` with default options. */
export function buildContext(plan: BuildPlan, options: Partial<BuildOptions> = {}): BuildContext {
  return {
    plan,
    options: {
      force: false,
      keepOnError: false,
      runUuid: "u",
      startTime: 0,
      cacheDir: "/nonexistent",
      layers: { enabled: false, resume: false },
      ...options,
    },
    fail: () => undefined,
    console: new VmConsole(),
  };
}

/** What a step's run and cleanup get. */
export function stepContext(plan: BuildPlan, { options, signal, events }: StepContextOptions = {}): BuildStepContext {
  return {
    signal: signal ?? new AbortController().signal,
    events: events ?? new EventBus("test", new Masker()),
    build: buildContext(plan, options),
  };
}
