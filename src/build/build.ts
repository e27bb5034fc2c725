// One build: a plan in, a result out, events along the way. No global state: every
// build has its own event bus, masker and abort controller.
import { randomUUID } from "node:crypto";
import { qemuPipeline } from "../builder/pipeline.js";
import { VmConsole } from "../builder/screenshot.js";
import { cacheDirFromEnvironment } from "../builder/cache-dir.js";
import { diskArtifact } from "../builder/disk-artifact.js";
import type { BuildContext } from "../builder/context.js";
import { CancelledError, ConfigErrors, NoVmRunningError, asTsimgError, type TsimgError } from "../core/errors.js";
import type { Artifact } from "../postprocessors/artifact.js";
import type { BuildPlan } from "../builder/plan.js";
import { EventBus } from "../core/event-bus.js";
import type { EventListener } from "../core/events.js";
import { Masker } from "../core/masker.js";
import type { StepErrorChoice } from "../core/runner.js";

export interface BuildOptions {
  /** Replace an existing output_directory. */
  force?: boolean;
  /** Keep output_directory when the build fails (--on-error=abort). */
  keepOnError?: boolean;
  /** Cancels the build: QEMU is stopped and partial output removed. */
  signal?: AbortSignal;
  /** Receives every event, secrets already masked. */
  onEvent?: EventListener;
  /**
   * Asked when a step fails (--on-error=ask): "cleanup" gives up as usual, "abort" gives up
   * keeping output_directory (as keepOnError), "retry" runs the step again.
   */
  onStepError?: (step: string, error: TsimgError) => Promise<StepErrorChoice>;
  /** Where ISO downloads and verification records are kept. Default: $TSIMG_CACHE_DIR, else ~/.cache/tsimg. */
  cacheDir?: string;
  /** Ignore the layer cache: build every layer, keep none (--no-cache). */
  noCache?: boolean;
  /** Continue from this build's cached layers, and fail if there are none (--resume). */
  resume?: boolean;
  /** Where layers are kept, over the template's layer_cache_dir. */
  layerCacheDir?: string;
  /** Packer's PACKER_RUN_UUID: one per run, shared by its parallel builds (manifest `last_run_uuid`). Default: a new one. */
  runUuid?: string;
}

export interface BuildResult {
  name: string;
  ok: boolean;
  cancelled: boolean;
  durationMs: number;
  /** The finished disk image (a post-processor chain may have replaced it: see `artifacts`). */
  artifact?: string;
  /**
   * What the build leaves, as Packer lists it: the disk unless every chain's first
   * post-processor let it go (keep_input_artifact), then the last artifact of each
   * post-processor chain, whose `id` is the upload URL after an upload. Empty when the build failed.
   */
  artifacts: Artifact[];
  error?: TsimgError;
  /** PNG of the guest's console when the build failed while the VM ran. */
  screenshot?: string;
}

/** A build under way, as startBuild() returns it. */
export interface RunningBuild {
  /** Settles when the build has ended and cleaned up; never rejects (as build()). */
  result: Promise<BuildResult>;
  /**
   * A PNG of the VM's console now (QMP screendump). Rejects with NoVmRunningError while no
   * VM runs: before the start-qemu step, after QEMU stopped, and once the build has ended.
   */
  screenshot(): Promise<Buffer>;
}

/** Runs the plan's build. Never throws for a failed build: the result says what happened. */
export function build(plan: BuildPlan, options: BuildOptions = {}): Promise<BuildResult> {
  return startBuild(plan, options).result;
}

/** Starts the plan's build and returns at once: the result to wait for, and what can be asked of the build while it runs. */
export function startBuild(plan: BuildPlan, options: BuildOptions = {}): RunningBuild {
  // The context is created here, synchronously, so screenshot() sees QEMU as soon as it runs.
  const controller = new AbortController();
  const build = newContext(plan, options, controller);
  let ended = false;
  const result = runBuild(build, controller, options).finally(() => (ended = true));
  return {
    result,
    screenshot: () =>
      ended
        ? Promise.reject(new NoVmRunningError("no VM is running: the build has ended"))
        : build.console.screenshot(),
  };
}

function newContext(plan: BuildPlan, options: BuildOptions, controller: AbortController): BuildContext {
  return {
    plan,
    options: {
      force: options.force ?? false,
      keepOnError: options.keepOnError ?? false,
      runUuid: options.runUuid ?? randomUUID(),
      startTime: Date.now(),
      cacheDir: options.cacheDir ?? cacheDirFromEnvironment(),
      layers: { enabled: !options.noCache, resume: options.resume ?? false, dir: options.layerCacheDir },
    },
    fail: (error) => {
      if (!controller.signal.aborted) controller.abort(error);
    },
    console: new VmConsole(),
  };
}

async function runBuild(build: BuildContext, controller: AbortController, options: BuildOptions): Promise<BuildResult> {
  const { plan } = build;
  const masker = new Masker();
  for (const secret of plan.secrets) masker.add(secret);
  const events = new EventBus(plan.image.name, masker);
  if (options.onEvent) events.on(options.onEvent);

  const onCancel = () => controller.abort(new CancelledError(reasonText(options.signal?.reason)));
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener("abort", onCancel, { once: true });

  const t0 = build.options.startTime;
  // The version travels with the events, so whoever keeps them (serve's log) knows what was built.
  events.emit({
    type: "build-start",
    ...(plan.image.version === undefined ? {} : { version: String(plan.image.version) }),
  });
  try {
    if (plan.missingInputs.length > 0) throw new ConfigErrors(plan.missingInputs);
    const onStepError = options.onStepError;
    const { values } = await qemuPipeline(plan).run(
      { signal: controller.signal, events, build },
      {
        ...(onStepError && {
          onStepError: async (step: string, error: unknown) => {
            const choice = await onStepError(step, maskedError(asTsimgError(error), masker));
            if (choice === "abort") build.options.keepOnError = true;
            return choice;
          },
        }),
      },
    );
    const artifacts = values.artifacts ?? [diskArtifact(plan, values)];
    for (const a of artifacts) {
      events.emit({
        type: "artifact",
        files: [...a.files],
        id: a.id,
        producer: a.producer,
        ...(a.location === undefined ? {} : { location: a.location }),
        checksums: { ...a.checksums },
      });
    }
    const durationMs = Date.now() - t0;
    events.emit({ type: "build-end", ok: true, ms: durationMs });
    return { name: plan.image.name, ok: true, cancelled: false, durationMs, artifact: values.artifactPath, artifacts };
  } catch (thrown) {
    const error = maskedError(asTsimgError(thrown), masker);
    const screenshot = build.console.failureScreenshot;
    if (screenshot) error.details.push(`screenshot of the console: ${screenshot}`);
    const cancelled = error instanceof CancelledError;
    const durationMs = Date.now() - t0;
    events.emit({ type: "build-end", ok: false, ms: durationMs, error: error.message, cancelled });
    return {
      name: plan.image.name,
      ok: false,
      cancelled,
      durationMs,
      artifacts: [],
      error,
      ...(screenshot ? { screenshot } : {}),
    };
  } finally {
    options.signal?.removeEventListener("abort", onCancel);
  }
}

function reasonText(reason: unknown): string {
  if (typeof reason === "string") return reason;
  if (reason instanceof Error && reason.name !== "AbortError") return reason.message;
  return "build cancelled";
}

/** The error with every secret masked, in its message and its details. */
function maskedError(error: TsimgError, masker: Masker): TsimgError {
  error.message = masker.mask(error.message);
  error.details.splice(0, error.details.length, ...error.details.map((d) => masker.mask(d)));
  return error;
}
