// One job on a build host: renew the job's lock while it runs, unpack the source serve put
// in Redis into a fresh work dir, run the build in its isolated process (the same one serve
// uses in-process), and send every event, the plan's secrets and the result to the build's
// capped stream. The job always ends "completed" in BullMQ: the outcome is in the result.
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import { execa } from "execa";
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BuildFunction, BuildOutput } from "../serve/build-function.js";
import {
  KEEP_SECONDS,
  KEYS,
  STREAM_MAXLEN,
  type JobData,
  type RemoteResult,
  type StreamMessage,
} from "../serve/queue-protocol.js";
import type { WorkerConfig } from "./config.js";

/** A failure screenshot larger than this stays on the host. */
const MAX_SCREENSHOT = 8 * 1024 * 1024;

/** What one job needs from the worker. */
export interface JobContext {
  config: WorkerConfig;
  redis: Redis;
  buildFunction: BuildFunction;
  /** Aborted by serve's cancel, or by the worker shutting down. */
  signal: AbortSignal;
  /** The running build's console, for serve's screenshot requests. */
  setScreenshotSource: (take: () => Promise<Buffer>) => void;
}

/** Checks what the job carries (Redis is shared: a job is not trusted to be well-formed). */
export function jobData(job: Job): JobData | undefined {
  const d = job.data as Partial<JobData> | undefined;
  if (
    !d ||
    !Number.isInteger(d.buildId) ||
    typeof d.image !== "string" ||
    !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(d.image) ||
    typeof d.template !== "string" ||
    d.template.split("/").includes("..") ||
    d.template.startsWith("/") ||
    !Number.isInteger(d.lockMs)
  )
    return undefined;
  return { buildId: d.buildId!, image: d.image, template: d.template, labels: d.labels ?? [], lockMs: d.lockMs! };
}

/** Runs one job to its end; never throws for a failed build. */
export async function runJob(ctx: JobContext, job: Job, token: string, data: JobData): Promise<void> {
  const { config, redis } = ctx;
  const stream = KEYS.events(data.buildId);
  const send = (m: StreamMessage) =>
    void redis.xadd(stream, "MAXLEN", "~", STREAM_MAXLEN, "*", "m", JSON.stringify(m)).catch(() => undefined);
  // Renewed three times per lock_time: a worker that stops renewing (killed, cut off) is lost.
  const renew = setInterval(() => void job.extendLock(token, data.lockMs).catch(() => undefined), data.lockMs / 3);
  await job.extendLock(token, data.lockMs).catch(() => undefined);
  send({ t: "started", worker: config.name, at: Date.now() });
  const workDir = join(config.workDir, String(data.buildId));
  let output: BuildOutput;
  try {
    const cancelled = await redis.get(KEYS.cancel(data.buildId));
    if (cancelled !== null) output = { ok: false, cancelled: true, error: cancelled, artifacts: [] };
    else {
      await unpackSource(redis, data.buildId, join(workDir, "repo"));
      output = await ctx.buildFunction({
        templatePath: join(workDir, "repo", data.template),
        workDir,
        signal: ctx.signal,
        onEvent: (event) => send({ t: "event", event: event as unknown as Record<string, unknown> }),
        addSecrets: (values) => send({ t: "secrets", values: [...values] }),
        setScreenshotSource: ctx.setScreenshotSource,
        sandbox: {
          ...(config.buildUser ? { user: config.buildUser } : {}),
          env: config.buildEnv,
          cacheDir: config.cacheDir,
        },
      });
    }
  } catch (error) {
    output = { ok: false, cancelled: ctx.signal.aborted, error: (error as Error).message, artifacts: [] };
  }
  const result: RemoteResult = {
    ok: output.ok,
    cancelled: output.cancelled,
    ...(output.error ? { error: output.error } : {}),
    artifacts: output.artifacts,
    ...screenshotOf(output.failureScreenshot),
    ...(output.sbom ? { sbom: output.sbom } : {}),
  };
  send({ t: "result", result });
  await redis.expire(stream, KEEP_SECONDS).catch(() => undefined);
  clearInterval(renew);
  await job.moveToCompleted({ ok: output.ok }, token, false).catch(() => undefined);
  // The image stays (its path is in the result); the checkout and scratch space go.
  rmSync(join(workDir, output.ok ? "repo" : ""), { recursive: true, force: true });
  if (output.failureScreenshot) rmSync(output.failureScreenshot, { force: true });
}

/** The source tree at the pinned commit (a tar.gz with one top folder, as GitLab's archives have), unpacked into a fresh folder. */
async function unpackSource(redis: Redis, buildId: number, dir: string): Promise<void> {
  const archive = await redis.getBuffer(KEYS.source(buildId));
  if (!archive) throw new Error(`the source of build #${buildId} is not in Redis (expired, or Redis lost it)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // GNU tar refuses members outside dir (absolute names, ..); git archive makes none.
  await execa("tar", ["-xzf", "-", "-C", dir, "--strip-components=1", "--no-same-owner", "--no-same-permissions"], {
    input: archive,
  });
}

function screenshotOf(path: string | undefined): { failureScreenshot?: string } {
  if (!path) return {};
  try {
    return statSync(path).size <= MAX_SCREENSHOT ? { failureScreenshot: readFileSync(path).toString("base64") } : {};
  } catch {
    return {};
  }
}
