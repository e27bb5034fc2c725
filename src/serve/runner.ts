// One build, start to end: re-check the MR head, fetch the source at exactly that commit
// (build-source.ts), run the build function, and say what happened. It throws nothing: the
// outcome is data the service records and reports. The fetch runs in serve (it needs the
// GitLab token); the build does not (worker-client.ts, or a tsimg worker).
import { rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { Masker, type BuildEvent } from "../index.js";
import type { FetchSource } from "./build-source.js";
import type { GitLabClient } from "./gitlab.js";
import type { ArtifactInfo, BuildRecord } from "./store.js";
import type { BuildFunction, BuildSandbox } from "./build-function.js";
import { isolatedBuild } from "./worker-client.js";
import { serveEvent } from "./event-log.js";

export type { BuildFunction, BuildInput, BuildOutput, BuildSandbox } from "./build-function.js";

/** The outcome of one build as serve records it. */
export interface RunOutcome {
  state: "success" | "failed" | "canceled";
  reason?: string;
  failingStep?: string;
  artifacts: ArtifactInfo[];
  /** The build's failure screenshot (inside the work dir). */
  failureScreenshot?: string;
  /** A success's SBOM and its MR's target branch, recorded for the note's "what changes" section. */
  contents?: { targetBranch: string; sbom: string };
}

/** What runOne needs. */
export interface RunnerDeps {
  gitlab: GitLabClient;
  buildFunction: BuildFunction;
  /** Puts the source at the build's commit where the build function reads it; returns the template's path. */
  fetchSource: FetchSource;
  /** Keeps one event in the build's log (the caller masks it). */
  log: (event: BuildEvent) => void;
  masker: Masker;
  setScreenshotSource: (take: () => Promise<Buffer>) => void;
  sandbox: BuildSandbox;
}

/** Runs a queued build in workDir; cancelled through signal (reason: signal.reason). */
export async function runOne(
  record: BuildRecord,
  workDir: string,
  deps: RunnerDeps,
  signal: AbortSignal,
): Promise<RunOutcome> {
  let currentStep: string | undefined;
  let failedStep: string | undefined;
  const cancelled = (): RunOutcome => ({ state: "canceled", reason: reasonOf(signal), artifacts: [] });
  // The MR re-read and the fetch of the source run at once (each is a round trip the build's
  // start waits for); a fetch the MR check makes useless is stopped, and waited for, since it
  // writes in the work dir.
  const stopFetch = new AbortController();
  const fetching = deps.fetchSource(record, workDir, AbortSignal.any([signal, stopFetch.signal]));
  fetching.catch(() => undefined);
  const stopFetching = async () => {
    stopFetch.abort();
    await fetching.catch(() => undefined);
  };
  const notBuilding = async (outcome: RunOutcome): Promise<RunOutcome> => {
    await stopFetching();
    return outcome;
  };
  try {
    currentStep = "check merge request";
    deps.log(serveEvent(record.image, `fetching ${record.repoUrl} at ${record.sha}`));
    const mr = await deps.gitlab.mergeRequest(record.projectId, record.mrIid).catch(async (error: unknown) => {
      await stopFetching();
      throw error;
    });
    // A cancel (a push, /tsimg cancel) that landed while the MR was read wins over what it says.
    if (signal.aborted) return notBuilding(cancelled());
    if (mr.state !== "opened")
      return notBuilding({
        state: "failed",
        reason: `merge request is ${mr.state}`,
        failingStep: currentStep,
        artifacts: [],
      });
    if (mr.sha !== record.sha)
      return notBuilding({
        state: "failed",
        reason: `the merge request head moved from ${record.sha.slice(0, 8)} to ${mr.sha.slice(0, 8)}; not building`,
        failingStep: currentStep,
        artifacts: [],
      });

    currentStep = "fetch repository";
    const templatePath = await fetching;
    if (signal.aborted) return cancelled();
    currentStep = "build";
    const output = await deps.buildFunction({
      templatePath,
      workDir,
      signal,
      addSecrets: (secrets) => secrets.forEach((s) => deps.masker.add(s)),
      setScreenshotSource: deps.setScreenshotSource,
      sandbox: deps.sandbox,
      onEvent: (event) => {
        if (event.type === "step-start") currentStep = event.step;
        if (event.type === "step-end" && event.outcome === "failed") failedStep ??= event.step;
        deps.log(event);
      },
    });
    if (output.ok)
      return {
        state: "success",
        artifacts: output.artifacts,
        ...(output.sbom ? { contents: { targetBranch: mr.targetBranch ?? "", sbom: output.sbom } } : {}),
      };
    if (output.cancelled || signal.aborted) return cancelled();
    const screenshot = output.failureScreenshot ? { failureScreenshot: output.failureScreenshot } : {};
    return {
      state: "failed",
      reason: output.error ?? "build failed",
      failingStep: failedStep ?? currentStep,
      artifacts: [],
      ...screenshot,
    };
  } catch (error) {
    if (signal.aborted) return cancelled();
    return {
      state: "failed",
      reason: (error as Error).message,
      failingStep: failedStep ?? currentStep ?? "start",
      artifacts: [],
    };
  }
}

/** The default build function (worker-client.ts). */
export const libraryBuild: BuildFunction = isolatedBuild;

function reasonOf(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return typeof r === "string" ? r : r instanceof Error && r.name !== "AbortError" ? r.message : "cancelled";
}

/** Removes a work dir, ignoring what is already gone. */
export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Removes a work dir without blocking the event loop (a clone is thousands of unlinks). */
export function removeWorkDirLater(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true, maxRetries: 2 });
}
