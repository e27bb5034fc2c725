// The service's builds when serve.toml has a [queue]: what changes in a build's life when a
// worker runs it. It stays `queued` (its log says why it waits) until a worker takes it,
// then it is `running` with the worker's name; and after a restart serve follows the
// builds its predecessor had queued instead of failing them.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { maskEvent, type BuildEvent, type Masker } from "../index.js";
import { serveEvent } from "./event-log.js";
import type { LogStore } from "./logs.js";
import type { RemoteBuilds, RemoteHooks } from "./queue-client.js";
import type { Reporter } from "./report.js";
import type { RunOutcome } from "./runner.js";
import type { Screens } from "./screens.js";
import type { BuildRecord, Store } from "./store.js";

/** With a queue, serve's own job queue only prepares and follows builds: the workers' slots limit them. */
export const FOLLOWERS = 10_000;

/** What the queue's part of the service needs from it. */
export interface QueueRunDeps {
  remote: RemoteBuilds;
  store: Store;
  logs: LogStore;
  reporter: Reporter;
  screens: Screens;
  stateDir: string;
  now: () => number;
  /** A masker with serve's secrets. */
  masker: () => Masker;
  /** Records an outcome as a build run by serve would be (screenshot, work dir, log line, state, report). */
  record: (build: BuildRecord, workDir: string, outcome: RunOutcome, masker: Masker) => Promise<void>;
  finish: (id: number, state: "failed" | "canceled", fields: { reason: string }) => void;
  /** Runs a build that is still queued from the start (fetch, queue, follow). */
  run: (id: number, signal: AbortSignal) => Promise<void>;
  /** Adds a job to serve's job queue. */
  push: (id: number, run: (signal: AbortSignal) => Promise<void>) => void;
}

/** How serve hears that a worker took a build, and why one waits. */
export function remoteHooks(deps: QueueRunDeps, build: BuildRecord, workDir: string): RemoteHooks {
  return {
    onStarted: (worker) => {
      deps.store.markRunning(build.id, workDir);
      deps.store.setWorker(build.id, worker);
      deps.logs.append(build.id, serveEvent(build.image, `running on worker ${worker}`, deps.now()));
      deps.logs.publishState(build.id, "running");
      void deps.reporter.update(build.id);
      deps.screens.attach(build.id, () => deps.remote.screenshot(build.id));
    },
    onWaiting: (why) => deps.logs.append(build.id, serveEvent(build.image, why, deps.now())),
  };
}

/** After a restart: every unfinished build is followed again (or queued again, or failed when its job is gone). */
export function recoverQueued(deps: QueueRunDeps): void {
  for (const build of deps.store.unfinishedBuilds()) deps.push(build.id, (signal) => resume(deps, build, signal));
}

async function resume(deps: QueueRunDeps, build: BuildRecord, signal: AbortSignal): Promise<void> {
  const workDir = join(deps.stateDir, "work", String(build.id));
  // What a killed serve was fetching or archiving; a queued build is fetched again.
  rmSync(workDir, { recursive: true, force: true });
  const masker = deps.masker();
  let currentStep: string | undefined;
  let failedStep: string | undefined;
  const onEvent = (event: BuildEvent) => {
    if (event.type === "step-start") currentStep = event.step;
    if (event.type === "step-end" && event.outcome === "failed") failedStep ??= event.step;
    deps.logs.append(build.id, maskEvent(event, masker));
  };
  if (build.state === "running") deps.screens.attach(build.id, () => deps.remote.screenshot(build.id));
  const input = { signal, workDir, onEvent, addSecrets: (s: readonly string[]) => s.forEach((v) => masker.add(v)) };
  let output;
  // Redis may not be back yet: ask again until it answers (or the build is cancelled).
  for (;;) {
    try {
      output = await deps.remote.reattach(build, input, remoteHooks(deps, build, workDir));
      break;
    } catch {
      if (signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  if (output === undefined) {
    if (build.state === "queued") return deps.run(build.id, signal);
    const reason = "service restarted while the build was running, and its job is no longer in the queue";
    deps.logs.append(build.id, serveEvent(build.image, reason, deps.now()));
    return deps.finish(build.id, "failed", { reason });
  }
  const outcome: RunOutcome = output.ok
    ? { state: "success", artifacts: output.artifacts }
    : output.cancelled || signal.aborted
      ? { state: "canceled", reason: "cancelled", artifacts: [] }
      : {
          state: "failed",
          reason: output.error ?? "build failed",
          failingStep: failedStep ?? currentStep ?? "build",
          artifacts: [],
          ...(output.failureScreenshot ? { failureScreenshot: output.failureScreenshot } : {}),
        };
  await deps.record(build, workDir, outcome, masker);
}
