// Load test of the build queue (issue 16): 1,000 `/tsimg build` comments, each on its own
// merge request, sent at a steady rate to a serve with [queue] over a real redis-server, and
// 4 `tsimg worker` processes taking the jobs with stand-in builds (no VM: a few events and a
// short sleep). Everything around the build is real: the GitLab stand-in's API calls (the
// commit's tar.gz from its repository archive API is a real `git archive` in the stand-in's
// process, as GitLab makes it on its own host), BullMQ, the source unpacked on the worker,
// the event stream back to serve, statuses and notes.
//
// Prints, per job: webhook sent -> a worker took the job (BullMQ's processedOn), split into
// webhook -> job queued (serve: delivery, GitLab calls, the archive, add) and queued ->
// taken (the queue itself); webhook sent -> the build function started on the worker (its
// source fetched from Redis and unpacked); and the throughput (jobs finished per second,
// first webhook to last result). Goal: p99 webhook -> taken under 200 ms.
//
// Run: npm run bench:queue   (or npx tsx bench/queue.mjs)
// Knobs: BENCH_JOBS (1000), BENCH_RATE (webhooks per second, 5), BENCH_WORKERS (4),
// BENCH_SLOTS (slots per worker, 2), BENCH_BUILD_MS (each stand-in build's length, 100).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { percentile } from "./lib.mjs";

const JOBS = Number(process.env.BENCH_JOBS ?? 1000),
  RATE = Number(process.env.BENCH_RATE ?? 5),
  WORKERS = Number(process.env.BENCH_WORKERS ?? 4),
  SLOTS = Number(process.env.BENCH_SLOTS ?? 2),
  BUILD_MS = Number(process.env.BENCH_BUILD_MS ?? 100);
const [role = "client", arg] = process.argv.slice(2);
const SELF = fileURLToPath(import.meta.url);
if (role !== "client") process.on("disconnect", () => process.exit(1));

if (role === "gitlab") {
  const { sha, repoDir } = JSON.parse(arg);
  const { GitLabStandIn, PROJECT_ID } = await import("../test/serve/helpers.ts");
  const gitlab = await new GitLabStandIn().start();
  gitlab.repoDir = repoDir;
  for (let iid = 1; iid <= JOBS; iid++)
    gitlab.mrs.set(iid, { state: "opened", sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
  process.send({ url: gitlab.url });
} else if (role === "service") {
  const { gitlabUrl, redisUrl, stateDir } = JSON.parse(arg);
  const { startServer } = await import("../src/serve/server.ts");
  const { testConfig } = await import("../test/serve/helpers.ts");
  const config = testConfig(gitlabUrl, stateDir, {
    queue: { redis: { url: redisUrl, tls: false }, lockMs: 30_000, imageLabels: {} },
  });
  const server = await startServer(config, { onError: (e) => console.error(`serve: ${e.message}`) });
  process.send({ url: server.url });
  process.on("message", () => {
    // buildId -> MR iid, for the client's latencies.
    const builds = server.store.listBuilds(JOBS * 2).map((b) => [b.id, b.mrIid, b.state, b.reason]);
    process.send({ builds });
  });
} else if (role === "worker") {
  const { name, redisUrl, dir } = JSON.parse(arg);
  const { BuildHost } = await import("../src/worker/worker.ts");
  const host = new BuildHost(
    {
      name,
      redis: { url: redisUrl, tls: false },
      slots: SLOTS,
      labels: [],
      workDir: join(dir, "work"),
      cacheDir: join(dir, "cache"),
      buildEnv: {},
      onSigterm: "cancel",
    },
    { buildFunction: standIn, log: () => {} },
  );
  await host.start();
  process.send({ ready: true });
} else {
  await client();
}

/** A build with no VM: a step, ten log lines, BUILD_MS of waiting, an artifact. It tells the client when it started. */
async function standIn(input) {
  process.send({ buildStarted: [Number(basename(input.workDir)), Date.now()] });
  const emit = (e) => input.onEvent({ build: "tinyos", time: Date.now(), ...e });
  emit({ type: "build-start" });
  emit({ type: "step-start", step: "stand-in", title: "A stand-in build" });
  for (let i = 1; i <= 10; i++) emit({ type: "log", level: "info", message: `line ${i}` });
  await new Promise((resolve) => setTimeout(resolve, BUILD_MS));
  emit({ type: "step-end", step: "stand-in", ms: BUILD_MS, outcome: "ok" });
  return { ok: true, cancelled: false, artifacts: [{ file: join(input.workDir, "output/tinyos.qcow2"), size: 1 }] };
}

function child(name, payload) {
  const proc = spawn(process.execPath, ["--import", "tsx", SELF, name, JSON.stringify(payload)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const first = new Promise((resolve) => proc.once("message", resolve));
  return { proc, first };
}

async function client() {
  const { startRedis } = await import("../test/worker/redis.ts");
  const { makeRepo, notePayload, SECRET } = await import("../test/serve/helpers.ts");
  const redis = await startRedis();
  const repo = makeRepo();
  // Every process's files (serve's state, the workers' dirs) under one folder, removed at the end.
  const scratch = mkdtempSync(join(tmpdir(), "tsimg-bench-queue-"));
  const procs = [];
  try {
    const gitlab = child("gitlab", { sha: repo.sha, repoDir: repo.dir });
    procs.push(gitlab.proc);
    const gitlabUrl = (await gitlab.first).url;
    const service = child("service", { gitlabUrl, redisUrl: redis.url, stateDir: join(scratch, "serve") });
    procs.push(service.proc);
    const serveUrl = (await service.first).url;
    const workers = Array.from({ length: WORKERS }, (_, i) =>
      child("worker", { name: `w${i + 1}`, redisUrl: redis.url, dir: join(scratch, `w${i + 1}`) }),
    );
    procs.push(...workers.map((w) => w.proc));
    await Promise.all(workers.map((w) => w.first));
    // buildId -> when its build function started on a worker.
    const buildStarted = new Map();
    for (const w of workers)
      w.proc.on("message", (m) => m.buildStarted && buildStarted.set(m.buildStarted[0], m.buildStarted[1]));
    console.log(
      `queue bench: ${JOBS} jobs at ${RATE}/s, ${WORKERS} workers x ${SLOTS} slots, stand-in builds of ${BUILD_MS} ms`,
    );

    const sent = new Map();
    const t0 = Date.now();
    for (let iid = 1; iid <= JOBS; iid++) {
      const due = t0 + ((iid - 1) * 1000) / RATE;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const body = JSON.stringify(
        notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha, iid, noteId: 100_000 + iid }),
      );
      sent.set(iid, Date.now());
      const response = await fetch(`${serveUrl}/hooks/gitlab`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Gitlab-Event": "Note Hook", "X-Gitlab-Token": SECRET },
        body,
      });
      await response.text();
    }
    const sentAll = Date.now();

    // Wait until serve has every build in a final state, then read BullMQ's times for each job.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue("builds", { connection });
    const ask = () => {
      service.proc.send("builds");
      return new Promise((resolve) => service.proc.once("message", resolve));
    };
    let builds = [];
    for (let tick = 0; ; tick++) {
      ({ builds } = await ask());
      const done = builds.filter((b) => !["queued", "running"].includes(b[2])).length;
      if (builds.length >= JOBS && done === builds.length) break;
      if (tick % 20 === 0) console.log(`  ${done} of ${JOBS} builds finished, ${builds.length} recorded`);
      if (Date.now() - sentAll > 15 * 60_000) throw new Error(`only ${done} builds finished`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const iidOf = new Map(builds.map(([id, iid]) => [id, iid]));
    const toQueued = [],
      toTaken = [],
      waited = [],
      toBuild = [];
    let lastFinished = 0;
    for (const job of await queue.getJobs(["completed", "failed"], 0, JOBS * 2)) {
      const webhook = sent.get(iidOf.get(job.data.buildId));
      if (webhook === undefined) continue;
      toQueued.push(job.timestamp - webhook);
      toTaken.push(job.processedOn - webhook);
      waited.push(job.processedOn - job.timestamp);
      if (buildStarted.has(job.data.buildId)) toBuild.push(buildStarted.get(job.data.buildId) - webhook);
      lastFinished = Math.max(lastFinished, job.finishedOn ?? 0);
    }
    const row = (label, values) =>
      console.log(
        `${label.padEnd(46)} p50 ${String(Math.round(percentile(values, 50))).padStart(5)} ms   p99 ${String(Math.round(percentile(values, 99))).padStart(5)} ms   max ${String(Math.round(Math.max(...values))).padStart(5)} ms`,
      );
    row("webhook -> a worker took the job", toTaken);
    row("  webhook -> job queued (serve)", toQueued);
    row("  queued -> taken (BullMQ, workers)", waited);
    row("webhook -> the build started (source unpacked)", toBuild);
    const seconds = (lastFinished - t0) / 1000;
    console.log(
      `${toTaken.length} of ${JOBS} jobs ran (${builds.filter((b) => b[2] === "success").length} builds succeeded); throughput ${(toTaken.length / seconds).toFixed(1)} jobs/s (first webhook to last result, ${seconds.toFixed(1)} s; webhooks sent at ${RATE}/s asked, ${(JOBS / ((sentAll - t0) / 1000)).toFixed(1)}/s reached)`,
    );
    const reasons = new Map();
    for (const [, , state, reason] of builds)
      if (state !== "success") reasons.set(`${state}: ${reason}`, (reasons.get(`${state}: ${reason}`) ?? 0) + 1);
    for (const [reason, n] of reasons) console.log(`  ${n} x ${reason}`);
    await queue.close();
    connection.disconnect();
  } finally {
    const exits = procs.map((proc) =>
      proc.exitCode === null && proc.signalCode === null ? new Promise((resolve) => proc.once("exit", resolve)) : null,
    );
    for (const proc of procs) proc.kill("SIGKILL");
    await Promise.all(exits);
    await redis.close();
    rmSync(scratch, { recursive: true, force: true });
    rmSync(repo.dir, { recursive: true, force: true });
  }
}
