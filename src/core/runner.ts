// The step runner: runs steps in order; every step that started gets its cleanup, in
// reverse order, with the outcome. A failing cleanup is reported but never hides the
// build's real error (STYLE §1-§4, after packer-plugin-sdk's multistep).
import { CancelledError, asTsimgError } from "./errors.js";
import { abortReason, raceAbort, withTimeout } from "./abort.js";
import type { EventBus } from "./event-bus.js";

export type Outcome = "ok" | "failed" | "cancelled";

/** What a step gets: the build's signal and its event bus. */
export interface StepContext {
  signal: AbortSignal;
  events: EventBus;
}

/** What to do about a failed step (--on-error=ask): give up with cleanup, give up keeping the output, or run it again. */
export type StepErrorChoice = "cleanup" | "abort" | "retry";

export interface RunOptions {
  /** Asked when a step fails (not when the build is cancelled); without it, the build gives up. */
  onStepError?: (step: string, error: unknown) => Promise<StepErrorChoice>;
}

/**
 * One unit of a build: it reads `In` (what earlier steps produced) and produces `Out`.
 * `run` throws on failure (it never logs its own error); it may record what it has done so
 * far in `progress` (a part of its output), so that a run that only got half way can be
 * undone. `cleanup` may run after success, failure or cancellation, with the step's input and
 * its output as far as it got (the whole output when `run` returned), and should be quick and
 * safe to run even when `run` only got half way.
 */
export interface Step<In = void, Out = void, C extends StepContext = StepContext> {
  name: string;
  /** Shown as "==> name: <title>". */
  title: string;
  // Function-typed properties, not methods: the compiler then checks a step's input strictly
  // (a pipeline may hand a step only what it reads).
  run: (ctx: C, input: In, progress: Partial<Out>) => Promise<Out>;
  cleanup?: (ctx: C, input: In, output: Partial<Out>, outcome: Outcome) => Promise<void>;
}

/** A step of any input and output, as the runner holds them (a pipeline has checked them). */
export interface AnyStep<C extends StepContext = StepContext> {
  name: string;
  title: string;
  run: (ctx: C, input: never, progress: never) => Promise<unknown>;
  cleanup?: (ctx: C, input: never, output: never, outcome: Outcome) => Promise<void>;
}

/** Includes a step only when the condition holds (keeps pipelines one readable list). */
export function when<S>(condition: boolean, step: S): S[] {
  return condition ? [step] : [];
}

/** Time each cleanup may take before the runner moves on. */
const CLEANUP_LIMIT_MS = 30_000;

/** What a run of the steps ended with: every step's output merged, and the last answer to a failed step. */
export interface ChainResult {
  output: object;
  choice: StepErrorChoice | undefined;
}

/** Runs the steps; resolves when all succeeded, rejects with the first error after all cleanups ran. */
export async function runSteps<C extends StepContext>(
  steps: readonly AnyStep<C>[],
  initial: object | undefined,
  ctx: C,
  options: RunOptions = {},
): Promise<StepErrorChoice | undefined> {
  return (await runChain(steps, initial, ctx, options)).choice;
}

/** A step that started, with what it was given and what it has produced so far. */
interface Started<C extends StepContext> {
  step: AnyStep<C>;
  input: object;
  progress: object;
}

/**
 * runSteps, giving back the outputs: each step gets the initial values and every earlier
 * step's output merged, and its own output is merged in for the next.
 */
export async function runChain<C extends StepContext>(
  steps: readonly AnyStep<C>[],
  initial: object | undefined,
  ctx: C,
  options: RunOptions = {},
): Promise<ChainResult> {
  const started: Started<C>[] = [];
  let values: object = { ...initial };
  let failure: unknown;
  let choice: StepErrorChoice | undefined;
  for (const step of steps) {
    if (ctx.signal.aborted) {
      failure = abortReason(ctx.signal);
      break;
    }
    // The progress object lives across retries, as the step's half-done work does.
    const current: Started<C> = { step, input: values, progress: {} };
    started.push(current);
    for (;;) {
      const t0 = Date.now();
      ctx.events.emit({ type: "step-start", step: step.name, title: step.title });
      try {
        const output = await step.run(ctx, current.input as never, current.progress as never);
        Object.assign(current.progress, output);
        values = { ...values, ...(output as object | undefined) };
        ctx.events.emit({ type: "step-end", step: step.name, ms: Date.now() - t0, outcome: "ok" });
        failure = undefined;
        break;
      } catch (error) {
        // When the build's signal fired, its reason (a cancellation, or QEMU dying) is the real error.
        failure = ctx.signal.aborted ? abortReason(ctx.signal) : error;
        const outcome = failure instanceof CancelledError ? "cancelled" : "failed";
        ctx.events.emit({ type: "step-end", step: step.name, ms: Date.now() - t0, outcome });
        // Nothing to ask when the build was stopped from outside (cancelled, QEMU died).
        if (ctx.signal.aborted || !options.onStepError) break;
        choice = await ask(options.onStepError, step.name, failure, ctx);
        // Stopped while the person was deciding: that ends the build, whatever they answer.
        if (ctx.signal.aborted) {
          failure = abortReason(ctx.signal);
          choice = undefined;
          break;
        }
        if (choice !== "retry") break;
        ctx.events.info(`retrying step "${step.name}"`);
      }
    }
    if (failure !== undefined) break;
  }
  const outcome: Outcome = failure === undefined ? "ok" : failure instanceof CancelledError ? "cancelled" : "failed";
  await runCleanups(started, ctx, outcome);
  if (failure !== undefined) throw failure;
  return { output: values, choice };
}

/**
 * The answer to a failed step, raced against the build's signal: a person may take minutes
 * to answer, and a cancellation meanwhile must not wait for them. A question that cannot be
 * asked (the asker threw) counts as giving up, so the cleanups still run.
 */
async function ask(
  onStepError: NonNullable<RunOptions["onStepError"]>,
  step: string,
  failure: unknown,
  ctx: StepContext,
): Promise<StepErrorChoice | undefined> {
  try {
    return await raceAbort(onStepError(step, failure), ctx.signal);
  } catch (error) {
    if (!ctx.signal.aborted)
      ctx.events.warn(`could not ask what to do about step "${step}": ${asTsimgError(error).message}`);
    return undefined;
  }
}

async function runCleanups<C extends StepContext>(started: Started<C>[], ctx: C, outcome: Outcome): Promise<void> {
  // Cleanups must run even though the build's signal has fired, so they get a fresh one.
  const cleanupCtx: C = { ...ctx, signal: new AbortController().signal };
  for (const { step, input, progress } of [...started].reverse()) {
    if (!step.cleanup) continue;
    try {
      await withTimeout(
        step.cleanup(cleanupCtx, input as never, progress as never, outcome),
        CLEANUP_LIMIT_MS,
        `cleanup did not finish within ${CLEANUP_LIMIT_MS / 1000} s`,
      );
    } catch (error) {
      ctx.events.warn(`cleanup of step "${step.name}" failed: ${asTsimgError(error).message}`);
    }
  }
}
