// One build, start to end: re-check the MR head, fetch the repository at exactly that
// commit into a fresh work dir, run the build function, and say what happened. It throws
// nothing: the outcome is data the service records and reports. The fetch runs in serve
// (it needs the GitLab token); the build does not (worker-client.ts).
import { defaultImageGlobs, findTemplateOnDisk } from "./image-discovery.js";
import { execa } from "execa";
import { mkdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Masker, type BuildEvent } from "../index.js";
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
  imagesDir: string;
  /** serve.toml's image_globs: where the image's template is at this commit (a TOML file or a Packer folder). */
  imageGlobs?: string[];
  /** Extra environment for git (credentials as http.extraHeader, never in argv or a URL). */
  gitEnv: (repoUrl: string) => Record<string, string>;
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
  try {
    currentStep = "check merge request";
    const mr = await deps.gitlab.mergeRequest(record.projectId, record.mrIid);
    // A cancel (a push, /tsimg cancel) that landed while the MR was read wins over what it says.
    if (signal.aborted) return cancelled();
    if (mr.state !== "opened")
      return { state: "failed", reason: `merge request is ${mr.state}`, failingStep: currentStep, artifacts: [] };
    if (mr.sha !== record.sha)
      return {
        state: "failed",
        reason: `the merge request head moved from ${record.sha.slice(0, 8)} to ${mr.sha.slice(0, 8)}; not building`,
        failingStep: currentStep,
        artifacts: [],
      };

    currentStep = "fetch repository";
    deps.log(serveEvent(record.image, `fetching ${record.repoUrl} at ${record.sha}`));
    await fetchCommit(record, workDir, deps, signal);
    if (signal.aborted) return cancelled();

    const repoDir = join(workDir, "repo");
    const templatePath =
      findTemplateOnDisk(repoDir, record.image, deps.imageGlobs ?? defaultImageGlobs(deps.imagesDir)) ??
      join(repoDir, deps.imagesDir, `${record.image}.toml`);
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

/** Clones the repository and checks out exactly the build's commit (arg arrays, no shell). */
async function fetchCommit(record: BuildRecord, workDir: string, deps: RunnerDeps, signal: AbortSignal): Promise<void> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(record.sha)) throw new Error(`not a commit sha: ${record.sha}`);
  const repo = join(workDir, "repo");
  mkdirSync(workDir, { recursive: true });
  const env = { GIT_TERMINAL_PROMPT: "0", ...deps.gitEnv(record.repoUrl) };
  const git = (args: string[], cwd?: string) =>
    execa("git", args, { cwd, env, cancelSignal: signal, stdin: "ignore", all: true });
  try {
    await git(["clone", "--quiet", "--no-checkout", "--", record.repoUrl, repo]);
    const checkout = () =>
      git(["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", record.sha], repo);
    // The MR head may live only under refs/merge-requests (a fork's commit): fetch it when the
    // checkout does not find it. (Two git processes in the usual case: each spawn forks serve.)
    const found = await checkout().then(
      () => true,
      () => false,
    );
    if (!found) {
      await git(["fetch", "--quiet", "origin", `refs/merge-requests/${record.mrIid}/head`], repo);
      await checkout();
    }
  } catch (error) {
    if (signal.aborted) throw error;
    const e = error as { all?: string; shortMessage?: string; message: string };
    const detail = (e.all ?? "").trim().split("\n").slice(-3).join(" / ");
    throw new Error(`git could not fetch ${record.sha.slice(0, 8)}: ${detail || e.shortMessage || e.message}`, {
      cause: error,
    });
  }
}

/** The default build function (worker-client.ts). */
export const libraryBuild: BuildFunction = isolatedBuild;

function reasonOf(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return typeof r === "string" ? r : r instanceof Error && r.name !== "AbortError" ? r.message : "cancelled";
}

/**
 * The environment git fetches with: only http(s) and file URLs, and the GitLab token as a
 * header for the configured GitLab alone (never on the command line, never for other hosts).
 */
export function gitAuthEnv(url: string, gitlabUrl: string, token: string): Record<string, string> {
  const base = { GIT_ALLOW_PROTOCOL: "https:http:file" };
  if (!url.startsWith(`${gitlabUrl}/`)) return base;
  const basic = Buffer.from(`oauth2:${token}`).toString("base64");
  return {
    ...base,
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.extraHeader",
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

/** Removes a work dir, ignoring what is already gone. */
export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Removes a work dir without blocking the event loop (a clone is thousands of unlinks). */
export function removeWorkDirLater(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true, maxRetries: 2 });
}
