// serve's side of the build queue ([queue] in serve.toml): a build's source goes to Redis,
// its job to the BullMQ queue of the labels its image needs, and what the worker that
// takes it says comes back through the build's event stream, read by one XREAD loop for
// every build serve follows. serve does every GitLab call and keeps every secret; a worker
// gets the source tree at the pinned commit and the job's ids, nothing else.
// A worker that stops renewing its lock (kill -9, lost host) is found by BullMQ's stalled
// check, run here: with maxStalledCount 0 its job fails instead of running again.
import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { BuildEvent } from "../index.js";
import { MAX_SBOM, type BuildInput, type BuildOutput } from "./build-function.js";
import { labelsFor, type QueueSettings } from "./queue-config.js";
import {
  connect,
  jobId,
  KEEP_SECONDS,
  KEYS,
  labelsOf,
  parseMessage,
  queueName,
  type JobData,
  type RemoteResult,
} from "./queue-protocol.js";
import { readWorkers, whyWaiting } from "./queue-workers.js";
import { checkedArtifacts } from "./worker-client.js";

/** A cancelled build's worker has this long to report its result before serve stops waiting. */
const CANCEL_WAIT_MS = 60_000;
const SCREENSHOT_TIMEOUT_MS = 15_000;
/** How often running jobs are checked for a lost worker, and waiting ones for why they wait. */
const SWEEP_MS = 1_000;

/** What serve hears about a build besides its events. */
export interface RemoteHooks {
  /** A worker took the build. */
  onStarted: (worker: string) => void;
  /** Why the build is not running yet (changes only). */
  onWaiting: (why: string) => void;
}

/** A build serve follows: where its stream is read from and where its messages go. */
interface Followed {
  buildId: number;
  image: string;
  cursor: string;
  worker?: string;
  waiting?: string;
  input: Pick<BuildInput, "onEvent" | "addSecrets" | "signal">;
  hooks: RemoteHooks;
  /** Ends the follow with the build's output. */
  done: (output: BuildOutput) => void;
  failureFile: string;
}

/** The queue as serve uses it. */
export class RemoteBuilds {
  private readonly redis: Redis;
  private readonly reader: Redis;
  private readonly queues = new Map<string, { queue: Queue; stalledCheck: Worker; connection: Redis }>();
  private readonly followed = new Map<number, Followed>();
  private readonly sweep: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly settings: QueueSettings,
    private readonly onError: (error: unknown) => void,
  ) {
    this.redis = connect(settings.redis, "tsimg-serve", false);
    this.reader = connect(settings.redis, "tsimg-serve-reader", true);
    for (const client of [this.redis, this.reader]) client.on("error", () => undefined);
    void this.readLoop();
    this.sweep = setInterval(() => void this.check().catch(() => undefined), SWEEP_MS);
    // The queues the configured images use, opened now: the first build does not wait for them.
    const images = Object.keys(settings.imageLabels);
    for (const image of ["", ...images]) this.queueOf(labelsFor(settings, image));
  }

  /** The BullMQ queue (and its stalled check) of a label set. */
  private queueOf(labels: string[]): Queue {
    const name = queueName(labels);
    let entry = this.queues.get(name);
    if (!entry) {
      const queue = new Queue(name, { connection: this.redis });
      const connection = connect(this.settings.redis, "tsimg-serve-stalled-check", true);
      connection.on("error", () => undefined);
      const stalledCheck = new Worker(name, null, {
        connection,
        autorun: false,
        maxStalledCount: 0,
        stalledInterval: Math.max(1_000, this.settings.lockMs / 2),
        lockDuration: this.settings.lockMs,
      });
      // Redis going away is reported by the build's hooks, not once per connection attempt.
      queue.on("error", () => undefined);
      stalledCheck.on("error", () => undefined);
      void stalledCheck.startStalledCheckTimer();
      this.queues.set(name, (entry = { queue, stalledCheck, connection }));
    }
    return entry.queue;
  }

  /**
   * The build function for one build: queues it with its source (the commit's tarball,
   * build-source.ts), again and again while Redis is unreachable (the build stays queued in
   * serve's database), then follows the worker's stream until its result.
   */
  buildFunction(build: { id: number; image: string }, hooks: RemoteHooks, source: () => Buffer | undefined) {
    return async (input: BuildInput): Promise<BuildOutput> => {
      const archive = source();
      if (!archive) throw new Error("the build's source was not fetched");
      const repo = input.templatePath.slice(0, input.templatePath.lastIndexOf("/repo/") + 5);
      const template = input.templatePath.slice(repo.length + 1);
      const labels = labelsFor(this.settings, build.image);
      const data: JobData = { buildId: build.id, image: build.image, template, labels, lockMs: this.settings.lockMs };
      let warned = false;
      for (;;) {
        if (input.signal.aborted) return { ok: false, cancelled: true, artifacts: [] };
        // serve is stopping: the build stays queued in its database; the next start queues it.
        if (this.closed) return new Promise<never>(() => undefined);
        try {
          // The source is in Redis before the job is: a worker that takes the job finds it.
          await Promise.all([
            this.redis.set(KEYS.source(build.id), archive, "EX", KEEP_SECONDS),
            this.redis.sadd(KEYS.labelSets, queueName(labels)),
          ]);
          await this.queueOf(labels).add("build", data, {
            jobId: jobId(build.id),
            attempts: 1,
            removeOnComplete: { age: KEEP_SECONDS },
            removeOnFail: { age: KEEP_SECONDS },
          });
          await this.redis.publish(KEYS.wake, queueName(labels));
          break;
        } catch (error) {
          if (!warned)
            hooks.onWaiting(
              `Redis is unreachable (${(error as Error).message}); the build is queued as soon as it is back`,
            );
          warned = true;
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
      return this.follow(build, input, hooks, "0", `${input.workDir}.failure.png`);
    };
  }

  /**
   * Takes up a build a previous serve process queued: undefined when Redis has no job for it
   * (it never got there), else its output once the worker reports (events after the last
   * one copied into the log first).
   */
  async reattach(
    build: { id: number; image: string; worker: string | null },
    input: Pick<BuildInput, "onEvent" | "addSecrets" | "signal" | "workDir">,
    hooks: RemoteHooks,
  ): Promise<BuildOutput | undefined> {
    const sets = new Set([
      ...(await this.redis.smembers(KEYS.labelSets)),
      queueName(labelsFor(this.settings, build.image)),
    ]);
    let found = false;
    for (const name of sets) if (await this.queueOf(labelsOf(name)).getJob(jobId(build.id))) found = true;
    if (!found) return undefined;
    const cursor = (await this.redis.get(KEYS.cursor(build.id))) ?? "0";
    const output = this.follow(build, input, hooks, cursor, `${input.workDir}.failure.png`);
    const followed = this.followed.get(build.id);
    if (followed && build.worker) followed.worker = build.worker;
    return output;
  }

  /** Asks the build's worker for a PNG of its VM's console. */
  async screenshot(buildId: number): Promise<Buffer> {
    const id = randomUUID();
    await this.redis.publish(KEYS.control, JSON.stringify({ t: "screenshot", buildId, id }));
    const deadline = Date.now() + SCREENSHOT_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const answer = await this.redis.getdel(KEYS.screenshot(id));
      if (answer !== null) {
        if (answer.startsWith("error:")) throw new Error(answer.slice(6));
        return Buffer.from(answer, "base64");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("the worker did not answer");
  }

  private follow(
    build: { id: number; image: string },
    input: Pick<BuildInput, "onEvent" | "addSecrets" | "signal">,
    hooks: RemoteHooks,
    cursor: string,
    failureFile: string,
  ): Promise<BuildOutput> {
    return new Promise<BuildOutput>((resolve) => {
      let cancelTimer: NodeJS.Timeout | undefined;
      const entry: Followed = {
        buildId: build.id,
        image: build.image,
        cursor,
        input,
        hooks,
        failureFile,
        done: (output) => {
          if (!this.followed.has(build.id)) return;
          this.followed.delete(build.id);
          clearTimeout(cancelTimer);
          input.signal.removeEventListener("abort", onAbort);
          void this.forget(build.id);
          resolve(output);
        },
      };
      const onAbort = () => {
        if (this.closed) return;
        const r: unknown = input.signal.reason;
        const reason = typeof r === "string" ? r : r instanceof Error ? r.message : "cancelled";
        void this.cancel(build.id, reason, entry).catch((e) => this.onError(e));
        cancelTimer = setTimeout(() => entry.done({ ok: false, cancelled: true, artifacts: [] }), CANCEL_WAIT_MS);
      };
      this.followed.set(build.id, entry);
      if (input.signal.aborted) onAbort();
      else input.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A waiting job is taken off its queue; a running one's worker is told to stop (and finds the flag if it starts it later). */
  private async cancel(buildId: number, reason: string, entry: Followed): Promise<void> {
    await this.redis.set(KEYS.cancel(buildId), reason, "EX", KEEP_SECONDS);
    for (const { queue } of this.queues.values()) {
      if ((await queue.remove(jobId(buildId))) === 1) return entry.done({ ok: false, cancelled: true, artifacts: [] });
    }
    await this.redis.publish(KEYS.control, JSON.stringify({ t: "cancel", buildId, reason }));
  }

  /** One XREAD for every followed build; the cursor is kept in Redis so a restarted serve resumes after it. */
  private async readLoop(): Promise<void> {
    while (!this.closed) {
      const builds = [...this.followed.values()];
      if (builds.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      let answer: [string, [string, string[]][]][] | null;
      try {
        answer = (await this.reader.xread(
          "COUNT",
          1000,
          "BLOCK",
          250,
          "STREAMS",
          ...builds.map((b) => KEYS.events(b.buildId)),
          ...builds.map((b) => b.cursor),
        )) as typeof answer;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      const cursors = this.redis.pipeline();
      for (const [key, entries] of answer ?? []) {
        const build = this.followed.get(Number(key.slice(key.lastIndexOf(":") + 1)));
        if (!build) continue;
        for (const [id, fields] of entries) {
          build.cursor = id;
          this.handle(build, fields[1]);
        }
        cursors.set(KEYS.cursor(build.buildId), build.cursor, "EX", KEEP_SECONDS);
      }
      await cursors.exec().catch(() => undefined);
    }
  }

  /** One stream entry; a malformed one is skipped. */
  private handle(build: Followed, text: string | undefined): void {
    const m = parseMessage(text);
    if (!m) return;
    try {
      if (m.t === "started" && typeof m.worker === "string") {
        build.worker = m.worker.slice(0, 64);
        build.hooks.onStarted(build.worker);
      } else if (m.t === "event" && typeof m.event?.type === "string" && typeof m.event.time === "number")
        build.input.onEvent(m.event as unknown as BuildEvent);
      else if (m.t === "secrets" && Array.isArray(m.values))
        build.input.addSecrets(m.values.filter((v) => typeof v === "string" && v.length <= 65_536).slice(0, 1000));
      else if (m.t === "result" && m.result && typeof m.result === "object") build.done(this.toOutput(build, m.result));
    } catch (error) {
      this.onError(error);
    }
  }

  private toOutput(build: Followed, r: RemoteResult): BuildOutput {
    const artifacts = checkedArtifacts(r.artifacts);
    let failureScreenshot: string | undefined;
    if (typeof r.failureScreenshot === "string" && r.failureScreenshot.length <= 12 * 1024 * 1024) {
      writeFileSync(build.failureFile, Buffer.from(r.failureScreenshot, "base64"), { mode: 0o600 });
      failureScreenshot = build.failureFile;
    }
    // A build the worker cancelled on its own (it was shutting down) failed, for serve.
    const byServe = build.input.signal.aborted;
    return {
      ok: r.ok === true,
      cancelled: r.cancelled === true && byServe,
      ...(typeof r.error === "string"
        ? { error: r.error }
        : r.cancelled && !byServe
          ? { error: `worker ${build.worker ?? "?"} cancelled the build` }
          : {}),
      artifacts,
      ...(failureScreenshot ? { failureScreenshot } : {}),
      // The SBOM, for the note's "what changes in the image" (at most 16 MiB).
      ...(typeof r.sbom === "string" && r.sbom.length <= MAX_SBOM ? { sbom: r.sbom } : {}),
    };
  }

  /** Every second: a job that failed without a result lost its worker; a waiting one says why it waits. */
  private async check(): Promise<void> {
    const builds = [...this.followed.values()];
    if (builds.length === 0) return;
    const workers = await readWorkers(this.redis, Date.now());
    for (const build of builds) {
      const labels = labelsFor(this.settings, build.image);
      const queue = this.queueOf(labels);
      const state = await queue.getJobState(jobId(build.buildId));
      // Back in the queue after a worker took it: BullMQ's stalled check found its lock gone.
      // It is not run again (maxStalledCount 0 marks it to fail; serve takes it off the queue).
      const requeued = build.worker !== undefined && ["waiting", "prioritized", "delayed"].includes(state);
      if (requeued) await queue.remove(jobId(build.buildId)).catch(() => 0);
      if (state === "failed" || state === "unknown" || requeued) {
        // Its last words may still be in the stream: read them first.
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (!this.followed.has(build.buildId)) continue;
        const lost = build.worker ? `worker ${build.worker} lost` : "the job left the queue without a result";
        build.done({
          ok: false,
          cancelled: false,
          error: `${lost} (no lock renewal for ${this.settings.lockMs / 1000} s)`,
          artifacts: [],
        });
      } else if (state === "waiting" || state === "prioritized" || state === "delayed") {
        const why = whyWaiting(labels, workers);
        if (why !== build.waiting) build.hooks.onWaiting((build.waiting = why));
      }
    }
  }

  /** A finished build's flags and source go; its stream expires later (serve has copied it). */
  private async forget(buildId: number): Promise<void> {
    await this.redis
      .multi()
      .del(KEYS.source(buildId), KEYS.cancel(buildId), KEYS.cursor(buildId))
      .expire(KEYS.events(buildId), KEEP_SECONDS)
      .exec()
      .catch(() => undefined);
  }

  /** The workers the dashboard lists. */
  workers() {
    return readWorkers(this.redis, Date.now());
  }

  /**
   * Stops following builds without cancelling them: they go on on their workers, and the next
   * serve process follows them again (reattach). The follows never settle.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    for (const { queue, stalledCheck, connection } of this.queues.values()) {
      await Promise.all([queue.close(), stalledCheck.close()]).catch(() => undefined);
      connection.disconnect();
    }
    this.redis.disconnect();
    this.reader.disconnect();
  }
}
