// serve with [queue] and `tsimg worker`s as processes of their own, over a real redis-server,
// with stand-in builds (no VM: the faults here do not need one; test/e2e/queue.test.ts runs
// real tinyos builds on two workers). Each test owns its Redis, its GitLab stand-in, its
// serve and its workers, and stops them all.
import Database from "better-sqlite3";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ServeConfig } from "../../src/serve/config.js";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import type { WorkerConfig } from "../../src/worker/config.js";
import {
  deliver,
  GitLabStandIn,
  makeRepo,
  notePayload,
  PROJECT_ID,
  pushPayload,
  testConfig,
  TOKEN,
  until,
} from "../serve/helpers.js";
import { startRedis, type TestRedis } from "./redis.js";

let redis: TestRedis | undefined;
let gitlab: GitLabStandIn | undefined;
let server: RunningServer | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await server?.close();
  server = undefined;
  await gitlab?.close();
  await redis?.close();
});

type StandIn = { hold?: boolean; fail?: boolean; lines?: number; gateFile?: string };

/** A worker process with its own dirs and a stand-in build; resolves once it takes jobs. */
async function startWorker(
  name: string,
  options: StandIn & { labels?: string[]; slots?: number; onSigterm?: "finish" | "cancel" } = {},
): Promise<{ child: ChildProcess; config: WorkerConfig; output: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), `tsimg-worker-${name}-`));
  const config: WorkerConfig = {
    name,
    redis: { url: redis!.url, tls: false },
    slots: options.slots ?? 1,
    labels: options.labels ?? [],
    workDir: join(dir, "work"),
    cacheDir: join(dir, "cache"),
    buildEnv: {},
    onSigterm: options.onSigterm ?? "finish",
  };
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TSIMG_")));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "child.ts"), JSON.stringify(config), JSON.stringify(options)],
    { stdio: ["ignore", "pipe", "pipe"], env },
  );
  children.push(child);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes("ready")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`worker ${name} exited with ${code}: ${output}`)));
  });
  return { child, config, output: () => output };
}

/** lockMs 10 s: a shorter lock would call a healthy worker lost when a loaded machine stalls it (the kill -9 test sets 2 s). */
function queueConfig(extra: Partial<ServeConfig["queue"] & object> = {}): ServeConfig {
  return testConfig(gitlab!.url, undefined, {
    queue: { redis: { url: redis!.url, tls: false }, lockMs: 10_000, imageLabels: {}, ...extra },
  });
}

async function setUp(extra: Partial<ServeConfig["queue"] & object> = {}) {
  redis = await startRedis();
  gitlab = await new GitLabStandIn().start();
  const repo = makeRepo();
  gitlab.repoDir = repo.dir;
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
  const config = queueConfig(extra);
  return { repo, config };
}

/** Polls an async check until it is truthy. */
async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const state = (id: number) => server!.store.getBuild(id)?.state;
const logOf = async (id: number) => (await fetch(`${server!.url}/builds/${id}/log`)).text();

describe("serve with a queue, stand-in builds", () => {
  it("a build runs on a worker: statuses, the note, the log and the worker's name come back; the worker holds no GitLab token", async () => {
    const { repo, config } = await setUp();
    server = await startServer(config, { onError: () => {} });
    const worker = await startWorker("w1", { lines: 5 });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => state(1) === "success", 15_000, "build 1 succeeded");
    await server.service.idle();
    expect(server.store.getBuild(1)!.worker).toBe("w1");
    expect(gitlab!.statusesOf()).toEqual(["pending", "running", "success"].map((s) => `${s}@${repo.sha.slice(0, 7)}`));
    expect(gitlab!.notes).toHaveLength(1);
    expect(gitlab!.notes[0]!.body).toContain(":white_check_mark: success");
    const log = await logOf(1);
    expect(log).toContain("running on worker w1");
    expect(log).toMatch(/line 5/);
    // The source came from GitLab's archive API (serve ran no git), unpacked at the commit.
    expect(log).toContain("template images/tinyos.toml: [image]");
    expect(gitlab!.calls.map((c) => c.path)).toContain(
      `/projects/${PROJECT_ID}/repository/archive.tar.gz?sha=${repo.sha}`,
    );
    const api = (await (await fetch(`${server.url}/api/workers`)).json()) as {
      workers: { name: string; slots: number }[];
    };
    expect(api.workers.map((w) => [w.name, w.slots])).toEqual([["w1", 1]]);
    // Least privilege: nothing of the worker's (its environment, its files) holds the token.
    expect(readFileSync(`/proc/${worker.child.pid}/environ`, "utf8")).not.toContain(TOKEN);
    const grep = spawn("grep", ["-rlF", TOKEN, join(worker.config.workDir, ".."), "--", "/dev/null"]);
    const found = await new Promise<string>((resolve) => {
      let out = "";
      grep.stdout.on("data", (d: Buffer) => (out += d.toString()));
      grep.once("close", () => resolve(out));
    });
    expect(found).toBe("");
  }, 60_000);

  it("GitLab rate-limits its archive API (429): serve clones the commit and archives it instead", async () => {
    const { repo, config } = await setUp();
    gitlab!.archiveRateLimited = true;
    const changed = repo.commit("images/tinyos.toml", '# changed in the merge request\n[image]\nname = "tinyos"\n');
    gitlab!.mrs.get(3)!.sha = changed;
    server = await startServer(config, { onError: () => {} });
    await startWorker("w1");
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: changed }));
    await until(() => state(1) === "success", 15_000, "build 1 succeeded");
    expect(await logOf(1)).toContain("template images/tinyos.toml: # changed in the merge request");
    // Asked once, not retried: a 429 means the limit's minute is not over.
    const archives = gitlab!.calls.filter((c) => c.path.includes("/repository/archive"));
    expect(archives).toHaveLength(1);
  }, 60_000);

  it("serve stops while a clone stalls (the archive API said 429): the clone is stopped, the build stays queued", async () => {
    const { repo, config } = await setUp();
    gitlab!.archiveRateLimited = true;
    // A git server that accepts the connection and never answers.
    const sockets: net.Socket[] = [];
    const stall = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => stall.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(stall.address() as net.AddressInfo).port}/stalled.git`;
    const gits = () => {
      try {
        return execFileSync("pgrep", ["-f", `git.*${url}`], { encoding: "utf8" }).trim();
      } catch {
        return "";
      }
    };
    try {
      server = await startServer(config, { onError: () => {} });
      await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: url, sha: repo.sha }));
      await until(() => sockets.length > 0, 15_000, "git connecting to the stalled server");
      expect(gits()).not.toBe("");
      await server.close();
      server = undefined;
      await eventually(
        async () => gits() === "",
        5_000,
        "the stalled git process (and its git remote-http) to be stopped",
      );
      const db = new Database(join(config.stateDir, "tsimg.db"), { readonly: true });
      const row = db.prepare("SELECT state FROM builds WHERE id = 1").get() as { state: string };
      db.close();
      expect(row.state).toBe("queued"); // the next start queues it again
    } finally {
      for (const socket of sockets) socket.destroy();
      stall.close();
    }
  }, 60_000);

  it("a job whose labels no worker has waits, the dashboard says why, and runs once a worker with them comes", async () => {
    const { repo, config } = await setUp({ imageLabels: { tinyos: ["kvm", "efi"] } });
    server = await startServer(config, { onError: () => {} });
    await startWorker("plain", { labels: ["x86_64"] });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    let log = "";
    await eventually(
      async () => (log = await logOf(1)).includes("none of the 1 connected worker has them"),
      15_000,
      "the waiting reason in the log",
    );
    expect(log).toContain("waiting for a worker with labels efi, kvm");
    expect(state(1)).toBe("queued");
    const api = (await (await fetch(`${server.url}/api/workers`)).json()) as { workers: { labels: string[] }[] };
    expect(api.workers[0]!.labels).toEqual(["x86_64"]);
    await startWorker("kvm-host", { labels: ["efi", "kvm", "x86_64"] });
    await until(() => state(1) === "success", 15_000, "build 1 succeeded on kvm-host");
    expect(server.store.getBuild(1)!.worker).toBe("kvm-host");
  }, 60_000);

  it("a superseding push stops the build on its worker within 5 s", async () => {
    const { repo, config } = await setUp();
    server = await startServer(config, { onError: () => {} });
    await startWorker("w1", { hold: true });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => state(1) === "running", 15_000, "build 1 running on w1");
    const next = repo.commit("images/tinyos.toml", '[image]\nname = "tinyos2"\n');
    gitlab!.mrs.get(3)!.sha = next;
    const t0 = Date.now();
    await deliver(server.url, pushPayload({ oldrev: repo.sha, sha: next, repo: repo.dir }), {
      event: "Merge Request Hook",
    });
    // The worker's build saw the cancel: its last event (step-end cancelled) reached the log.
    await eventually(async () => (await logOf(1)).includes("boot cancelled"), 5_000, "the worker's build cancelled");
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(state(1)).toBe("canceled");
    await until(() => state(2) === "running", 10_000, "build 2 running at the new head");
  }, 60_000);

  it("kill -9 of a worker mid-build: the build fails with 'worker <name> lost' within the lock time, its status is posted, and it is not run again", async () => {
    const { repo, config } = await setUp({ lockMs: 2_000 });
    server = await startServer(config, { onError: () => {} });
    const w1 = await startWorker("w1", { hold: true });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => state(1) === "running", 15_000, "build 1 running on w1");
    const w2 = await startWorker("w2", { lines: 1 });
    w1.child.kill("SIGKILL");
    const t0 = Date.now();
    await until(() => state(1) === "failed", 10_000, "build 1 failed");
    expect(Date.now() - t0).toBeLessThan(3 * config.queue!.lockMs + 1_000);
    expect(server.store.getBuild(1)!.reason).toMatch(/^worker w1 lost/);
    await server.service.idle();
    expect(gitlab!.statusesOf().at(-1)).toBe(`failed@${repo.sha.slice(0, 7)}`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(w2.output()).not.toContain("build #1");
  }, 60_000);

  it("Redis restarted during a build and while idle: the build finishes, a webhook taken while Redis is down is built once it is back", async () => {
    const { repo, config } = await setUp({ lockMs: 10_000 });
    server = await startServer(config, { onError: () => {} });
    const gateFile = join(mkdtempSync(join(tmpdir(), "tsimg-gate-")), "open");
    await startWorker("w1", { gateFile });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => state(1) === "running", 15_000, "build 1 running on w1");
    await redis!.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await redis!.start();
    writeFileSync(gateFile, "");
    await until(() => state(1) === "success", 20_000, "build 1 succeeded after the restart");
    expect(await logOf(1)).toContain("line 3");

    // Idle: Redis down, a comment arrives, Redis comes back.
    await redis!.stop();
    gitlab!.mrs.set(4, {
      state: "opened",
      sha: repo.sha,
      source_project_id: PROJECT_ID,
      target_project_id: PROJECT_ID,
    });
    const answer = await deliver(
      server.url,
      notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha, iid: 4, noteId: 1002 }),
    );
    expect(answer.status).toBe(202);
    await until(() => state(2) === "queued", 10_000, "build 2 recorded");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(state(2)).toBe("queued");
    await redis!.start();
    await until(() => state(2) === "success", 30_000, "build 2 succeeded once Redis was back");
  }, 90_000);

  it("SIGTERM: the worker takes no new job and lets its running build finish, then exits", async () => {
    const { repo, config } = await setUp();
    server = await startServer(config, { onError: () => {} });
    const gateFile = join(mkdtempSync(join(tmpdir(), "tsimg-gate-")), "open");
    const w1 = await startWorker("w1", { gateFile });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => state(1) === "running", 15_000, "build 1 running on w1");
    w1.child.kill("SIGTERM");
    const exited = new Promise((resolve) => w1.child.once("exit", (code) => resolve(code)));
    gitlab!.mrs.set(4, {
      state: "opened",
      sha: repo.sha,
      source_project_id: PROJECT_ID,
      target_project_id: PROJECT_ID,
    });
    await deliver(
      server.url,
      notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha, iid: 4, noteId: 1002 }),
    );
    await until(() => state(2) === "queued", 10_000, "build 2 queued");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    writeFileSync(gateFile, "");
    await until(() => state(1) === "success", 10_000, "build 1 finished");
    expect(await exited).toBe(143);
    expect(state(2)).toBe("queued");
    expect(w1.output()).not.toContain("build #2");
  }, 60_000);

  it("serve restarted (kill -9) while a worker builds: the new serve picks up the build's events and result", async () => {
    const { repo, config } = await setUp({ lockMs: 10_000 });
    const gateFile = join(mkdtempSync(join(tmpdir(), "tsimg-gate-")), "open");
    await startWorker("w1", { gateFile, lines: 2 });
    const serveChild = (): Promise<{ child: ChildProcess; url: string }> => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(import.meta.dirname, "../serve/child.ts"), JSON.stringify(config)],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      children.push(child);
      return new Promise((resolve, reject) => {
        child.stdout!.on("data", (d: Buffer) => {
          const match = /^url (\S+)/m.exec(d.toString());
          if (match) resolve({ child, url: match[1]! });
        });
        child.once("exit", (code) => reject(new Error(`serve exited ${code}`)));
      });
    };
    const first = await serveChild();
    await deliver(first.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    const api = async (url: string) =>
      (await (await fetch(`${url}/api/builds/1`)).json()) as { state: string; worker?: string };
    await eventually(async () => (await api(first.url)).state === "running", 15_000, "build 1 running");
    first.child.kill("SIGKILL");
    await new Promise((resolve) => first.child.once("exit", resolve));
    const second = await serveChild();
    expect((await api(second.url)).state).toBe("running");
    writeFileSync(gateFile, "");
    await eventually(
      async () => (await api(second.url)).state === "success",
      20_000,
      "build 1 succeeded in the new serve",
    );
    const log = await (await fetch(`${second.url}/builds/1/log`)).text();
    expect(log).toContain("line 2");
    // Once each: the new serve resumed the stream after what the first one had copied.
    expect(log.split("running on worker w1").length).toBe(2);
    expect(log.split("line 2").length).toBe(2);
    await until(() => gitlab!.statusesOf().at(-1) === `success@${repo.sha.slice(0, 7)}`, 10_000, "success status");
  }, 90_000);
});
