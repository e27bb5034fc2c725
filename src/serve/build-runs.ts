// One build from the service's queue to its recorded outcome: in serve's process (runner.ts's
// runOne with the build function), or, with a [queue], on a tsimg worker (queue-runs.ts). The
// outcome is recorded the same way for both: the failure screenshot, the work dir, the last
// log line, what changed in the image, the state and the reports.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Masker, maskEvent } from "../index.js";
import { serveEvent } from "./event-log.js";
import type { ImageChanges } from "./image-changes.js";
import type { JobQueue } from "./queue.js";
import type { RemoteBuilds } from "./queue-client.js";
import { remoteHooks, type QueueRunDeps } from "./queue-runs.js";
import type { Reporter } from "./report.js";
import { archiveSource, cloneSource, gitAuthEnv, type FetchSource, type SourceSettings } from "./build-source.js";
import { removeWorkDirLater, runOne, type BuildSandbox, type RunOutcome } from "./runner.js";
import type { Screens } from "./screens.js";
import type { ServeConfig } from "./config.js";
import type { GitLabClient } from "./gitlab.js";
import type { LogStore } from "./logs.js";
import type { BuildFunction } from "./build-function.js";
import type { BuildRecord, Store } from "./store.js";

/** The service's collaborators a run uses (service.ts's ServiceDeps has them all). */
export interface RunCollaborators {
  config: ServeConfig;
  store: Store;
  logs: LogStore;
  gitlab: GitLabClient;
  buildFunction: BuildFunction;
  now: () => number;
}

/** What a build's run needs of the service. */
export interface BuildRunsDeps {
  service: RunCollaborators;
  reporter: Reporter;
  screens: Screens;
  sandbox: BuildSandbox;
  imageChanges: ImageChanges;
  remote: RemoteBuilds | undefined;
  queue: JobQueue;
  /** Aborted when serve stops. */
  stopping: AbortSignal;
  finish: (id: number, state: "success" | "failed" | "canceled", fields: Parameters<Store["finish"]>[2]) => void;
  error: (error: unknown) => void;
}

/** Runs the service's builds and records their outcomes. */
export class BuildRuns {
  constructor(private readonly deps: BuildRunsDeps) {}

  /** Runs a queued build (fetch, build here or on a worker) and records what happened. */
  async run(buildId: number, signal: AbortSignal): Promise<void> {
    const { store, logs, config } = this.deps.service;
    const build = store.getBuild(buildId);
    if (!build || build.state !== "queued") return;
    const workDir = join(config.stateDir, "work", String(buildId));
    const remote = this.deps.remote;
    // With a queue the build is running once a worker takes it (remoteHooks).
    if (!remote) {
      store.markRunning(buildId, workDir);
      logs.publishState(buildId, "running");
      void this.deps.reporter.update(buildId);
    }
    const masker = this.masker();
    const { gitlab } = this.deps.service;
    const source: SourceSettings = {
      imagesDir: config.imagesDir,
      ...(config.imageGlobs ? { imageGlobs: config.imageGlobs } : {}),
      gitEnv: (url) => gitAuthEnv(url, config.gitlabUrl, config.secrets.gitlabToken),
    };
    // A worker's build gets the commit as a tarball (through Redis); serve's own, a clone.
    let archive: Buffer | undefined;
    const outcome = await runOne(
      build,
      workDir,
      {
        gitlab,
        buildFunction: remote
          ? remote.buildFunction(build, remoteHooks(this.queueDeps(remote), build, workDir), () => archive)
          : this.deps.service.buildFunction,
        fetchSource: remote ? this.stoppable(archiveSource(gitlab, source, (a) => (archive = a))) : cloneSource(source),
        log: (event) => logs.append(buildId, maskEvent(event, masker)),
        masker,
        setScreenshotSource: (take) => this.deps.screens.attach(buildId, take),
        sandbox: this.deps.sandbox,
      },
      signal,
    );
    if (remote && this.deps.stopping.aborted) {
      // Its source was being fetched when serve stopped (a submitted build never gets here):
      // it stays queued, as the queue's builds do, and the next start queues it again.
      await removeWorkDirLater(workDir).catch(this.deps.error);
      return;
    }
    await this.record(build, workDir, outcome, masker);
  }

  /**
   * With a queue, stopping serve does not stop its builds: their workers go on. But a build
   * whose source is still being fetched has no worker yet, and its fetch (a clone, after
   * GitLab's archive API said 429) could stall: it is stopped with serve.
   */
  private stoppable(fetch: FetchSource): FetchSource {
    return (record, workDir, signal) => fetch(record, workDir, AbortSignal.any([signal, this.deps.stopping]));
  }

  /** What the queue's part (queue-runs.ts) needs. */
  queueDeps(remote: RemoteBuilds): QueueRunDeps {
    const { store, logs, config, now } = this.deps.service;
    return {
      remote,
      store,
      logs,
      reporter: this.deps.reporter,
      screens: this.deps.screens,
      stateDir: config.stateDir,
      now,
      masker: () => this.masker(),
      record: (build, workDir, outcome, masker) => this.record(build, workDir, outcome, masker),
      finish: (id, state, fields) => this.deps.finish(id, state, fields),
      run: (id, signal) => this.run(id, signal),
      push: (id, run) =>
        this.deps.queue.push({ id, run, dropped: (reason) => this.deps.finish(id, "canceled", { reason }) }),
    };
  }

  /** Records a build's outcome: its failure screenshot, its work dir removed, the last log line, the state and the reports. */
  private async record(build: BuildRecord, workDir: string, outcome: RunOutcome, masker: Masker): Promise<void> {
    const { logs, now } = this.deps.service;
    const { screens, error } = this.deps;
    const buildId = build.id;
    screens.detach(buildId);
    // Kept before the work dir (where the build wrote it) goes.
    if (outcome.failureScreenshot) await screens.keepFailure(buildId, outcome.failureScreenshot).catch(error);
    rmSync(`${workDir}.failure.png`, { force: true });
    // A success keeps its output (in-process); a worker's output is on the worker.
    const local = outcome.state === "success" && !this.deps.remote;
    await removeWorkDirLater(local ? join(workDir, "repo") : workDir).catch(error);
    const reason = outcome.reason === undefined ? undefined : masker.mask(outcome.reason);
    if (reason !== undefined) logs.append(buildId, serveEvent(build.image, `${outcome.state}: ${reason}`, now()));
    if (outcome.contents) {
      try {
        this.deps.imageChanges.record(build, outcome.contents.targetBranch, outcome.contents.sbom, now());
      } catch (e) {
        error(e);
      }
    }
    this.deps.finish(buildId, outcome.state, {
      ...(reason ? { reason } : {}),
      ...(outcome.failingStep ? { failingStep: outcome.failingStep } : {}),
      artifacts: outcome.artifacts,
    });
  }

  /** A masker with serve's secrets (a build adds its plan's). */
  private masker(): Masker {
    const masker = new Masker();
    for (const s of Object.values(this.deps.service.config.secrets)) masker.add(s);
    return masker;
  }
}
