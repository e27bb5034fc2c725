// `tsimg worker`: one build host. It takes jobs by hand from the BullMQ queues whose label
// set it has (a queue per set of labels an image needs), as many as it has slots, and runs
// each with run-job.ts. Idle, it waits for serve's wake-up message (and looks every second
// anyway). Every HEARTBEAT_MS it writes its entry in the worker registry. On start it kills
// what a killed predecessor left running in its work dir (the builds' own QEMUs die with
// their build process already: --pdeathsig).
import { Worker as BullWorker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { BuildFunction } from "../serve/build-function.js";
import {
  connect,
  HEARTBEAT_MS,
  KEYS,
  labelsOf,
  type ControlMessage,
  type WorkerInfo,
} from "../serve/queue-protocol.js";
import { killProcessesUsing } from "../serve/state-dir.js";
import { isolatedBuild } from "../serve/worker-client.js";
import type { WorkerConfig } from "./config.js";
import { jobData, runJob } from "./run-job.js";

/** How often an idle worker looks for jobs without being woken. */
const POLL_MS = 1_000;

interface Running {
  controller: AbortController;
  done: Promise<void>;
  take?: () => Promise<Buffer>;
}

/** What a caller may replace (tests: a stand-in build with no VM). */
export interface WorkerDeps {
  buildFunction?: BuildFunction;
  onError?: (error: unknown) => void;
  log?: (line: string) => void;
}

/** A running worker. */
export class BuildHost {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  /** One BullMQ worker (manual fetching, no processor) per queue this host may take jobs from. */
  private readonly queues = new Map<string, BullWorker>();
  private readonly running = new Map<number, Running>();
  private readonly timers: NodeJS.Timeout[] = [];
  private draining = false;
  private pumping = false;
  private pumpAgain = false;

  constructor(
    private readonly config: WorkerConfig,
    private readonly deps: WorkerDeps = {},
  ) {
    this.redis = connect(config.redis, `tsimg-worker-${config.name}`, true);
    this.subscriber = connect(config.redis, `tsimg-worker-${config.name}-control`, true);
    for (const client of [this.redis, this.subscriber]) client.on("error", () => undefined);
  }

  /** Cleans up after a predecessor, joins the registry and starts taking jobs. */
  async start(): Promise<void> {
    mkdirSync(this.config.workDir, { recursive: true });
    mkdirSync(this.config.cacheDir, { recursive: true });
    const user = this.config.buildUser;
    // As on serve (state-dir.ts): the build user crosses work/ to its own build's dir, and owns the cache.
    if (user) {
      chmodSync(this.config.workDir, 0o711);
      chownSync(this.config.cacheDir, user.uid, user.gid);
    }
    for (const leftover of readdirSync(this.config.workDir)) {
      const dir = join(this.config.workDir, leftover);
      const killed = killProcessesUsing(dir);
      if (killed.length > 0) this.log(`killed ${killed.length} process(es) a previous worker left in ${dir}`);
      rmSync(dir, { recursive: true, force: true });
    }
    this.subscriber.on("message", (channel: string, text: string) => {
      if (channel === KEYS.wake) this.pump();
      else this.control(text);
    });
    await this.subscriber.subscribe(KEYS.control, KEYS.wake);
    await this.heartbeat();
    await this.refreshQueues();
    this.timers.push(setInterval(() => void this.heartbeat().catch(() => undefined), HEARTBEAT_MS));
    this.timers.push(
      setInterval(
        () =>
          void this.refreshQueues().then(
            () => this.pump(),
            () => undefined,
          ),
        POLL_MS,
      ),
    );
    this.pump();
  }

  /** Stops taking jobs; running builds finish, or are cancelled (`cancel`); resolves when they have ended. */
  async stop(cancel: boolean): Promise<void> {
    this.draining = true;
    void this.heartbeat().catch(() => undefined);
    if (cancel)
      for (const r of this.running.values()) r.controller.abort(`worker ${this.config.name} is shutting down`);
    await Promise.all([...this.running.values()].map((r) => r.done));
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    await this.redis.hdel(KEYS.workers, this.config.name).catch(() => undefined);
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  /** Builds running now. */
  get busy(): number[] {
    return [...this.running.keys()];
  }

  private async heartbeat(): Promise<void> {
    const info: WorkerInfo = {
      name: this.config.name,
      labels: this.config.labels,
      slots: this.config.slots,
      busy: this.busy,
      draining: this.draining,
      heartbeat: Date.now(),
    };
    await this.redis.hset(KEYS.workers, this.config.name, JSON.stringify(info));
  }

  /** Opens the queues serve has used whose labels this host has. */
  private async refreshQueues(): Promise<void> {
    const sets = await this.redis.smembers(KEYS.labelSets);
    for (const name of ["builds", ...sets]) {
      if (this.queues.has(name) || !labelsOf(name).every((l) => this.config.labels.includes(l))) continue;
      const worker = new BullWorker(name, null, { connection: this.redis, autorun: false, name: this.config.name });
      worker.on("error", () => undefined);
      this.queues.set(name, worker);
    }
  }

  /** Takes jobs while there are free slots; one pump at a time, run again if asked meanwhile. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      do {
        this.pumpAgain = false;
        while (!this.draining && this.running.size < this.config.slots && (await this.takeOne())) {
          // took one; look for another
        }
      } while (this.pumpAgain && !this.draining);
    })()
      .catch((e) => this.error(e))
      .finally(() => (this.pumping = false));
  }

  /** Moves one job to active in the first queue that has one; false when none has. */
  private async takeOne(): Promise<boolean> {
    for (const worker of this.queues.values()) {
      const token = `${this.config.name}:${randomUUID()}`;
      const job = (await worker.getNextJob(token, { block: false })) as Job | undefined;
      if (!job) continue;
      // A job whose worker was lost (BullMQ's stalled check marked it to fail): not run again.
      if (job.deferredFailure) {
        await job.moveToFailed(new Error(job.deferredFailure), token, false).catch(() => undefined);
        continue;
      }
      this.begin(job, token);
      return true;
    }
    return false;
  }

  private begin(job: Job, token: string): void {
    const data = jobData(job);
    if (!data) {
      void job.moveToFailed(new Error("malformed job"), token, false).catch(() => undefined);
      return;
    }
    const controller = new AbortController();
    const entry: Running = { controller, done: Promise.resolve() };
    this.running.set(data.buildId, entry);
    this.log(`build #${data.buildId} (${data.image}) started`);
    entry.done = runJob(
      {
        config: this.config,
        redis: this.redis,
        buildFunction: this.deps.buildFunction ?? isolatedBuild,
        signal: controller.signal,
        setScreenshotSource: (take) => (entry.take = take),
      },
      job,
      token,
      data,
    )
      .catch((e) => this.error(e))
      .finally(() => {
        this.running.delete(data.buildId);
        this.log(`build #${data.buildId} ended`);
        void this.heartbeat().catch(() => undefined);
        this.pump();
      });
    void this.heartbeat().catch(() => undefined);
  }

  /** serve's requests: cancel a build, or send a screenshot of its console. */
  private control(text: string): void {
    let m: ControlMessage;
    try {
      m = JSON.parse(text) as ControlMessage;
    } catch {
      return;
    }
    const build = this.running.get(m.buildId);
    if (!build) return;
    if (m.t === "cancel") build.controller.abort(typeof m.reason === "string" ? m.reason : "cancelled");
    else if (m.t === "screenshot" && typeof m.id === "string" && /^[0-9a-f-]{36}$/.test(m.id)) {
      const key = KEYS.screenshot(m.id);
      (build.take ? build.take() : Promise.reject(new Error("no VM is running yet"))).then(
        (png) => void this.redis.set(key, png.toString("base64"), "EX", 30),
        (error: Error) => void this.redis.set(key, `error:${error.message}`, "EX", 30),
      );
    }
  }

  private log(line: string): void {
    (this.deps.log ?? ((l: string) => console.log(`tsimg worker ${this.config.name}: ${l}`)))(line);
  }

  private error(error: unknown): void {
    (
      this.deps.onError ??
      ((e: unknown) => console.error(`tsimg worker ${this.config.name}: ${(e as Error).message ?? String(e)}`))
    )(error);
  }
}
