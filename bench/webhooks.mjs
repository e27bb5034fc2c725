// Load test of serve's webhook intake: 1,000 deliveries (mixed events, 10% duplicates),
// 50 at a time, against a GitLab stand-in, with a fake build (no VM; the repository clone
// and everything else a build does around the build function are real). Prints p50/p99
// response latency as the client sees it and as serve measured it (Server-Timing), builds
// queued, and deliveries lost.
//
// Run: npx tsx bench/webhooks.mjs            (three processes: client, serve, GitLab stand-in)
//      npx tsx bench/webhooks.mjs --single   (all three in one event loop, as before: the
//                                             client's and the stand-in's work then counts
//                                             as serve's latency)
//      npx tsx bench/webhooks.mjs --flood    (the same deliveries while the dashboard is read
//                                             and logs flood in: 20 clients replay a finished
//                                             build's 60,000-line log over SSE, again and again,
//                                             and a build prints 60,000 lines during the burst;
//                                             a fourth process holds the 20 readers)
//
// The processes are separate by default because a load generator, a remote GitLab and the
// service sharing one event loop measure the generator as much as the service.
// Knobs: BENCH_CPU_PROF=<dir> (CPU profile of serve), BENCH_BUILD_CONCURRENCY=<n> (default 4),
// BENCH_INTAKE_ONLY=1 (serve records deliveries but handles none: the intake's floor; with
// --flood, from the burst on: the readers' replays are then the only other load).
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { startServer } from "../src/serve/server.ts";
import {
  GitLabStandIn,
  PROJECT_ID,
  SECRET,
  fakeBuild,
  makeRepo,
  notePayload,
  pushPayload,
  testConfig,
} from "../test/serve/helpers.ts";

const TOTAL = 1000,
  CONCURRENCY = 50,
  DUP_RATE = 0.1,
  MRS = 200,
  BUILD_CONCURRENCY = Number(process.env.BENCH_BUILD_CONCURRENCY ?? 4);
const [role = "client", arg] = process.argv.slice(2).filter((a) => a !== "--single" && a !== "--flood");
const single = process.argv.includes("--single");
const flood = process.argv.includes("--flood");
const FLOOD_LINES = 60_000,
  READERS = 20;
// A child role ends with the client that started it (a crashed client leaves no serve behind).
if (role !== "client") process.on("disconnect", () => process.exit(1));

if (role === "gitlab") {
  // The GitLab stand-in, alone in its process (a real GitLab is another machine).
  const { sha } = JSON.parse(arg);
  const gitlab = await startGitLab(sha);
  process.send({ url: gitlab.url });
  process.on("message", async () => {
    await gitlab.close();
    process.exit(0);
  });
} else if (role === "readers") {
  // The dashboard's readers, alone in their process: each replays the log over SSE, again and again.
  const { url } = JSON.parse(arg);
  const readers = startReaders(url);
  process.send({ started: READERS });
  process.on("message", async () => {
    process.send(await readers.stop());
    process.exit(0);
  });
} else if (role === "service") {
  // serve, alone in its process, as `tsimg serve` runs.
  const { gitlabUrl, flood: floodMode } = JSON.parse(arg);
  const server = await startService(gitlabUrl, floodMode);
  const intakeOnly = () => void (server.service.deliver = () => {});
  if (process.env.BENCH_INTAKE_ONLY && !floodMode) intakeOnly();
  const { monitorEventLoopDelay } = await import("node:perf_hooks");
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  process.send({ url: server.url });
  process.on("message", async (message) => {
    // "reset": the measured run starts now (with --flood, after build #1's 60,000 lines).
    if (message === "reset") {
      if (process.env.BENCH_INTAKE_ONLY) intakeOnly();
      return void lag.reset();
    }
    lag.disable();
    process.send({
      ...(await finish(server)),
      lag: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 },
    });
    await server.close();
    process.exit(0);
  });
} else {
  await client();
}

async function startGitLab(sha) {
  const gitlab = await new GitLabStandIn().start();
  for (let iid = 1; iid <= MRS; iid++)
    gitlab.mrs.set(iid, { state: "opened", sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
  return gitlab;
}

function startService(gitlabUrl, floodMode = flood) {
  // With --flood, the first two builds print 60,000 lines each: build #1 before the burst (the
  // log the readers replay), build #2 during it.
  let floods = floodMode ? 2 : 0;
  const quiet = fakeBuild({ lines: 2 });
  const buildFunction = (input) => (floods-- > 0 ? floodBuild(input) : quiet(input));
  return startServer(testConfig(gitlabUrl, undefined, { concurrency: BUILD_CONCURRENCY }), {
    buildFunction,
    onError: () => {},
  });
}

/** A build that prints FLOOD_LINES lines as fast as output could reach serve: 1,000 at a time, one batch per turn of the event loop. */
async function floodBuild(input) {
  const emit = (e) => input.onEvent({ build: "tinyos", time: Date.now(), ...e });
  emit({ type: "build-start" });
  for (let i = 1; i <= FLOOD_LINES; i++) {
    emit({
      type: "serial",
      line: `[  ${(i / 100).toFixed(6)}] flood line ${i} of ${FLOOD_LINES}: systemd[1]: Started some unit with a long enough description.`,
    });
    if (i % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return { ok: true, cancelled: false, artifacts: [] };
}

/** READERS clients, each replaying build #1's log over SSE until stopped; counts replays and lines. */
function startReaders(url) {
  let stopping = false,
    replays = 0,
    lines = 0;
  const agent = new Agent({ keepAlive: false });
  const replay = () =>
    new Promise((resolve) => {
      request(`${url}/builds/1/events`, { agent }, (res) => {
        let tail = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          const text = tail + d;
          const cut = text.lastIndexOf("\n");
          lines += (text.slice(0, cut + 1).match(/^id: /gm) ?? []).length;
          tail = text.slice(cut + 1);
        });
        res.once("end", () => (replays++, resolve()));
        res.once("error", resolve);
      })
        .once("error", resolve)
        .end();
    });
  const loops = Array.from({ length: READERS }, async () => {
    while (!stopping) await replay();
  });
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return { replays, lines };
    },
  };
}

/** Waits until build #1 (the 60,000-line log) has finished. */
async function waitForFirstBuild(url) {
  for (;;) {
    const state = await new Promise((resolve) =>
      request(`${url}/api/builds/1`, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.once("end", () => resolve(res.statusCode === 200 ? JSON.parse(body).state : undefined));
      })
        .once("error", () => resolve(undefined))
        .end(),
    );
    if (state === "success") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until intake work has settled, then counts what serve recorded. */
async function finish(server) {
  await server.service.idle();
  const builds = server.store.listBuilds(100_000);
  return { builds: builds.length, byState: builds.reduce((m, b) => ((m[b.state] = (m[b.state] ?? 0) + 1), m), {}) };
}

/** Starts a role in a child process and waits for its first message. */
function child(name, data) {
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of serve's process (open it in Chrome DevTools).
  const profile =
    name === "service" && process.env.BENCH_CPU_PROF
      ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
      : [];
  const proc = spawn(
    process.execPath,
    [...profile, "--import", "tsx", fileURLToPath(import.meta.url), name, JSON.stringify(data)],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  return new Promise((resolve, reject) => {
    proc.once("message", (m) => resolve({ proc, ...m }));
    proc.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

function ask(proc) {
  // The IPC channel alone does not keep this process's event loop alive: a timer does.
  const keepAlive = setInterval(() => {}, 1000);
  return new Promise((resolve, reject) => {
    proc.once("message", resolve);
    proc.once("exit", (code) => reject(new Error(`child exited with ${code}`)));
    proc.send("finish");
  }).finally(() => clearInterval(keepAlive));
}

async function client() {
  const repo = makeRepo();
  let gitlab, server, serviceUrl, stop;
  if (single) {
    gitlab = await startGitLab(repo.sha);
    server = await startService(gitlab.url);
    serviceUrl = server.url;
    stop = async () => {
      const result = await finish(server);
      await server.close();
      await gitlab.close();
      return result;
    };
  } else {
    gitlab = await child("gitlab", { sha: repo.sha });
    server = await child("service", { gitlabUrl: gitlab.url, flood });
    serviceUrl = server.url;
    stop = async () => {
      const result = await ask(server.proc);
      await ask(gitlab.proc).catch(() => undefined);
      gitlab.proc.kill();
      return result;
    };
  }

  // Unique deliveries: build commands (expected to queue one build each), comment edits,
  // chatter, help requests, unsupported events, pushes without oldrev.
  let seq = 0;
  const unique = [];
  const expectedBuilds = new Set();
  while (unique.length < Math.round(TOTAL * (1 - DUP_RATE))) {
    const n = ++seq,
      iid = 1 + (n % MRS),
      kind = n % 6;
    if (kind === 0 || kind === 1) {
      unique.push({
        event: "Note Hook",
        payload: notePayload({ note: "/tsimg build tinyos", noteId: 10_000 + n, iid, repo: repo.dir, sha: repo.sha }),
        key: `k-${n}`,
      });
      expectedBuilds.add(n);
    } else if (kind === 2)
      unique.push({
        event: "Note Hook",
        payload: notePayload({
          note: "/tsimg build tinyos",
          noteId: 10_000 + n,
          iid,
          action: "update",
          repo: repo.dir,
          sha: repo.sha,
        }),
        key: `k-${n}`,
      });
    else if (kind === 3)
      unique.push({
        event: "Note Hook",
        payload: notePayload({ note: "looks good to me", noteId: 10_000 + n, iid, repo: repo.dir, sha: repo.sha }),
        key: `k-${n}`,
      });
    else if (kind === 4) unique.push({ event: "Push Hook", payload: { object_kind: "push" }, key: `k-${n}` });
    else
      unique.push({
        event: "Merge Request Hook",
        payload: pushPayload({ iid, oldrev: "", sha: repo.sha, repo: repo.dir }),
        key: `k-${n}`,
      });
  }
  // Bodies are serialized before the clock starts: the client should cost as little as it can.
  for (const d of unique) d.body = Buffer.from(JSON.stringify(d.payload));
  const dups = Array.from({ length: TOTAL - unique.length }, (_, i) => unique[(i * 7) % unique.length]);
  const all = [...unique, ...dups].sort(() => Math.random() - 0.5);

  const latencies = [];
  const serverSide = [];
  let lost = 0,
    index = 0;
  const statuses = {};
  // node:http with keep-alive, not fetch: undici's fetch costs the client several times more
  // CPU per request, and on a busy machine the client's own delay shows up as serve's latency.
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(`${serviceUrl}/hooks/gitlab`);
  const post = (d) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            "Content-Length": d.body.length,
            "X-Gitlab-Event": d.event,
            "X-Gitlab-Token": SECRET,
            "Idempotency-Key": d.key,
          },
        },
        (res) => {
          res.resume();
          res.once("end", () => {
            const timing = /intake;dur=([\d.]+)/.exec(String(res.headers["server-timing"] ?? ""));
            resolve({
              status: res.statusCode,
              ms: performance.now() - t0,
              ...(timing ? { serverMs: Number(timing[1]) } : {}),
            });
          });
          res.once("error", reject);
        },
      );
      req.once("error", reject);
      req.end(d.body);
    });
  // --flood: build #1 prints its 60,000 lines first; then the readers start replaying them.
  let readers;
  if (flood) {
    const first = {
      event: "Note Hook",
      key: "flood-1",
      body: Buffer.from(
        JSON.stringify(notePayload({ note: "/tsimg build tinyos", noteId: 1, iid: 1, repo: repo.dir, sha: repo.sha })),
      ),
    };
    await post(first);
    agent.destroy(); // its one connection would idle past serve's keep-alive timeout
    await waitForFirstBuild(serviceUrl);
    if (single) {
      const local = startReaders(serviceUrl);
      readers = { stop: () => local.stop() };
    } else {
      const { proc } = await child("readers", { url: serviceUrl });
      readers = { stop: () => ask(proc) };
      server.proc.send("reset");
    }
    // Let every reader be mid-replay when the burst starts.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // Warm the connection pool so the first 50 requests do not measure TCP setup (after the
  // flood's setup: serve closes connections idle for 5 s).
  await Promise.all(
    Array.from(
      { length: CONCURRENCY },
      () =>
        new Promise((resolve) =>
          request(`${serviceUrl}/api/builds`, { agent }, (res) => res.resume().once("end", resolve)).end(),
        ),
    ),
  );
  async function worker() {
    while (index < all.length) {
      const d = all[index++];
      try {
        const r = await post(d);
        latencies.push(r.ms);
        if (r.serverMs !== undefined) serverSide.push(r.serverMs);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status >= 300) lost++;
      } catch {
        lost++;
      }
    }
  }
  const { monitorEventLoopDelay } = await import("node:perf_hooks");
  const clientLag = monitorEventLoopDelay({ resolution: 5 });
  clientLag.enable();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wall = performance.now() - t0;
  clientLag.disable();
  agent.destroy();
  const read = readers ? await readers.stop() : undefined;
  const result = await stop();
  const pct = (list, p) => {
    const sorted = [...list].sort((a, b) => a - b);
    return sorted.length === 0
      ? "n/a"
      : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1);
  };
  console.log(
    `layout: ${single ? "one process (client, serve and GitLab stand-in share an event loop)" : `${flood ? "four" : "three"} processes (client | serve | GitLab stand-in${flood ? " | SSE readers" : ""})`}`,
  );
  if (read)
    console.log(
      `flood: ${READERS} SSE readers replayed build #1's ${FLOOD_LINES.toLocaleString("en")}-line log ${read.replays} times in all (${read.lines.toLocaleString("en")} lines received)${process.env.BENCH_INTAKE_ONLY ? "" : ` while build #2 printed ${FLOOD_LINES.toLocaleString("en")} lines`}`,
    );
  console.log(
    `deliveries: ${all.length} (${unique.length} unique, ${dups.length} duplicates), ${CONCURRENCY} concurrent, ${wall.toFixed(0)} ms wall`,
  );
  console.log(`answers: ${JSON.stringify(statuses)}`);
  console.log(
    `latency (client): p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms, max ${pct(latencies, 100)} ms`,
  );
  console.log(
    `latency (serve, Server-Timing): p50 ${pct(serverSide, 50)} ms, p99 ${pct(serverSide, 99)} ms, max ${pct(serverSide, 100)} ms`,
  );
  console.log(
    `builds queued: ${result.builds} (expected ${expectedBuilds.size + (flood ? 1 : 0)}: one per unique build request${flood ? ", and build #1" : ""}); states ${JSON.stringify(result.byState)}`,
  );
  if (result.lag)
    console.log(
      `serve's event loop delay during the run: p50 ${result.lag.p50.toFixed(1)} ms, p99 ${result.lag.p99.toFixed(1)} ms, max ${result.lag.max.toFixed(1)} ms`,
    );
  console.log(
    `the client's own event loop delay: p50 ${(clientLag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(clientLag.percentile(99) / 1e6).toFixed(1)} ms, max ${(clientLag.max / 1e6).toFixed(1)} ms`,
  );
  console.log(`deliveries lost: ${lost}`);
  // With --flood, build #1 (the replayed log) is one more.
  const ok = lost === 0 && (process.env.BENCH_INTAKE_ONLY || result.builds === expectedBuilds.size + (flood ? 1 : 0));
  if (!ok) process.exitCode = 1;
}
