// A build's source at exactly its commit, fetched by serve (it holds the GitLab token; a
// worker never does). A build in serve's process reads a clone in its work dir. A build
// for a worker needs only a tarball: GitLab's repository archive API gives it in one HTTP
// call, with the template found from the tree API as image discovery finds it. No git
// process on serve then: a clone, a checkout and a `git archive` per build (each spawn forks
// serve) were most of serve's CPU under a stream of builds (bench:queue). GitLab.com limits
// the archive endpoint per project and user; when it answers 429 the build falls back to a
// clone and `git archive`.
import { execa } from "execa";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { GitLabError, type GitLabClient } from "./gitlab.js";
import { defaultImageGlobs, findTemplateOnDisk } from "./image-discovery.js";
import { MAX_SOURCE_BYTES } from "./queue-protocol.js";
import type { BuildRecord } from "./store.js";

/** Fetches a build's source; returns the path of its template (under workDir/repo). */
export type FetchSource = (record: BuildRecord, workDir: string, signal: AbortSignal) => Promise<string>;

/** Where templates are, and how git authenticates. */
export interface SourceSettings {
  imagesDir: string;
  /** serve.toml's image_globs: where the image's template is at this commit (a TOML file or a Packer folder). */
  imageGlobs?: string[];
  /** Extra environment for git (credentials as http.extraHeader, never in argv or a URL). */
  gitEnv: (repoUrl: string) => Record<string, string>;
}

/** The folder every source tarball holds the repository under (GitLab's archives have one top folder too). */
const TOP = "source/";

/** In serve's process: a clone at the commit in workDir/repo. */
export function cloneSource(settings: SourceSettings): FetchSource {
  return async (record, workDir, signal) => {
    await fetchCommit(record, workDir, settings, signal);
    const repoDir = join(workDir, "repo");
    const globs = settings.imageGlobs ?? defaultImageGlobs(settings.imagesDir);
    return (
      findTemplateOnDisk(repoDir, record.image, globs) ?? join(repoDir, settings.imagesDir, `${record.image}.toml`)
    );
  };
}

/**
 * For a worker: the commit as a tar.gz with one top folder, handed to keep() (nothing is
 * written on serve unless GitLab refuses the archive and a clone is made instead).
 */
export function archiveSource(
  gitlab: GitLabClient,
  settings: SourceSettings,
  keep: (archive: Buffer) => void,
): FetchSource {
  return async (record, workDir, signal) => {
    if (!SHA.test(record.sha)) throw new Error(`not a commit sha: ${record.sha}`);
    const globs = settings.imageGlobs ?? defaultImageGlobs(settings.imagesDir);
    try {
      const [archive, images] = await Promise.all([
        gitlab.archive(record.projectId, record.sha, MAX_SOURCE_BYTES, signal),
        gitlab.images(record.projectId, record.sha, globs),
      ]);
      keep(archive);
      const template = images.find((image) => image.name === record.image)?.template;
      return join(workDir, "repo", template ?? `${settings.imagesDir}/${record.image}.toml`);
    } catch (error) {
      if (!(error instanceof GitLabError && error.status === 429) || signal.aborted) throw error;
    }
    const templatePath = await cloneSource(settings)(record, workDir, signal);
    const archive = await execa(
      "git",
      ["-C", join(workDir, "repo"), "archive", "--format=tar.gz", `--prefix=${TOP}`, "HEAD"],
      { encoding: "buffer", maxBuffer: MAX_SOURCE_BYTES, cancelSignal: signal },
    ).catch((error: Error) => {
      throw new Error(
        `could not archive the repository (at most ${MAX_SOURCE_BYTES >> 20} MiB): ${error.message.split("\n")[0]}`,
      );
    });
    keep(Buffer.from(archive.stdout));
    return templatePath;
  };
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Clones the repository and checks out exactly the build's commit (arg arrays, no shell). */
async function fetchCommit(
  record: BuildRecord,
  workDir: string,
  settings: SourceSettings,
  signal: AbortSignal,
): Promise<void> {
  if (!SHA.test(record.sha)) throw new Error(`not a commit sha: ${record.sha}`);
  const repo = join(workDir, "repo");
  mkdirSync(workDir, { recursive: true });
  const env = { GIT_TERMINAL_PROMPT: "0", ...settings.gitEnv(record.repoUrl) };
  const git = (args: string[], cwd?: string) => {
    // In a process group of its own, stopped whole on a cancel: killing git alone leaves the
    // `git remote-http` it started behind, still waiting on a stalled server.
    const child = execa("git", args, { cwd, env, cancelSignal: signal, stdin: "ignore", all: true, detached: true });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    signal.addEventListener("abort", killGroup, { once: true });
    const forget = () => signal.removeEventListener("abort", killGroup);
    void child.then(forget, forget);
    return child;
  };
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
