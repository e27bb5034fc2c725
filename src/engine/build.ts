// One build: a plan in, a result out, events along the way. No global state: every
// build has its own event bus, masker and abort controller.
import { qemuPipeline } from "../builder/pipeline.js";
import type { QemuBuildState } from "../builder/state.js";
import { CancelledError, ConfigErrors, asTsimgError, type TsimgError } from "../errors.js";
import type { BuildPlan } from "../template/types.js";
import { EventBus } from "./event-bus.js";
import type { EventListener } from "./events.js";
import { Masker } from "./masker.js";
import { runSteps } from "./runner.js";

export interface BuildOptions {
  /** Replace an existing output_directory. */
  force?: boolean;
  /** Keep output_directory when the build fails (--on-error=abort). */
  keepOnError?: boolean;
  /** Cancels the build: QEMU is stopped and partial output removed. */
  signal?: AbortSignal;
  /** Receives every event, secrets already masked. */
  onEvent?: EventListener;
}

export interface BuildResult {
  name: string;
  ok: boolean;
  cancelled: boolean;
  durationMs: number;
  /** The finished disk image. */
  artifact?: string;
  error?: TsimgError;
}

/** Runs the plan's build. Never throws for a failed build: the result says what happened. */
export async function build(plan: BuildPlan, options: BuildOptions = {}): Promise<BuildResult> {
  const masker = new Masker();
  for (const secret of plan.secrets) masker.add(secret);
  const events = new EventBus(plan.image.name, masker);
  if (options.onEvent) events.on(options.onEvent);

  const controller = new AbortController();
  const onCancel = () => controller.abort(new CancelledError(reasonText(options.signal?.reason)));
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener("abort", onCancel, { once: true });

  const state: QemuBuildState = {
    plan,
    options: { force: options.force ?? false, keepOnError: options.keepOnError ?? false },
    fail: (error) => {
      if (!controller.signal.aborted) controller.abort(error);
    },
  };
  const t0 = Date.now();
  events.emit({ type: "build-start" });
  try {
    if (plan.missingInputs.length > 0) throw new ConfigErrors(plan.missingInputs);
    await runSteps(qemuPipeline(plan), state, { signal: controller.signal, events });
    const durationMs = Date.now() - t0;
    events.emit({ type: "artifact", files: [state.artifactPath!], id: state.artifactPath! });
    events.emit({ type: "build-end", ok: true, ms: durationMs });
    return { name: plan.image.name, ok: true, cancelled: false, durationMs, artifact: state.artifactPath! };
  } catch (thrown) {
    const error = asTsimgError(thrown);
    error.message = masker.mask(error.message);
    error.details.splice(0, error.details.length, ...error.details.map((d) => masker.mask(d)));
    const cancelled = error instanceof CancelledError;
    const durationMs = Date.now() - t0;
    events.emit({ type: "build-end", ok: false, ms: durationMs, error: error.message, cancelled });
    return { name: plan.image.name, ok: false, cancelled, durationMs, error };
  } finally {
    options.signal?.removeEventListener("abort", onCancel);
  }
}

function reasonText(reason: unknown): string {
  if (typeof reason === "string") return reason;
  if (reason instanceof Error && reason.name !== "AbortError") return reason.message;
  return "build cancelled";
}
