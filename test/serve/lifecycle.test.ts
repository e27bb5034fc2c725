// Superseding pushes, restart durability (a real kill -9 of a service process), and the
// dashboard's live log over Server-Sent Events.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import {
  deliver,
  fakeBuild,
  GitLabStandIn,
  makeRepo,
  notePayload,
  PROJECT_ID,
  pushPayload,
  testConfig,
  until,
} from "./helpers.js";

let gitlab: GitLabStandIn;
let server: RunningServer | undefined;
let repo: ReturnType<typeof makeRepo>;

beforeEach(async () => {
  gitlab = await new GitLabStandIn().start();
  repo = makeRepo();
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await gitlab.close();
});

describe("serve lifecycle", () => {
  it("a push during a running build cancels it within 5 s (status canceled) and builds the new commit", async () => {
    let holdFirst = true;
    const fake = fakeBuild();
    const held = fakeBuild({ hold: true });
    server = await startServer(testConfig(gitlab.url), {
      buildFunction: (input) => (holdFirst ? ((holdFirst = false), held(input)) : fake(input)),
      onError: () => {},
    });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => held.started.length === 1, 15_000, "first build running");

    const newSha = repo.commit("images/tinyos.toml", '[image]\nname = "tinyos"\nversion = "2"\n');
    gitlab.mrs.set(3, { state: "opened", sha: newSha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    const t0 = Date.now();
    await deliver(server.url, pushPayload({ oldrev: repo.sha, sha: newSha, repo: repo.dir }), {
      event: "Merge Request Hook",
    });
    await until(() => server!.store.getBuild(1)?.state === "canceled", 15_000, "first build canceled");
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(server.store.getBuild(1)?.reason).toBe(`superseded by a push of ${newSha.slice(0, 8)}`);
    await until(() => server!.store.getBuild(2)?.state === "success", 15_000, "new build done");
    await server.service.idle();
    expect(server.store.getBuild(2)?.sha).toBe(newSha);
    const of = (sha: string) => gitlab.statuses.filter((st) => st.sha === sha).map((st) => st.state);
    expect(of(repo.sha)).toEqual(["pending", "running", "canceled"]);
    expect(of(newSha)).toEqual(["pending", "running", "success"]);
    expect(gitlab.statuses.find((st) => st.state === "canceled")!.description).toBe(
      `canceled: superseded by a push of ${newSha.slice(0, 8)}`,
    );
    // Both builds belong to the same request: one note, edited.
    expect(gitlab.notes).toHaveLength(1);
    expect(gitlab.notes[0]!.body).toContain("| tinyos | :no_entry_sign: canceled |");
    expect(gitlab.notes[0]!.body).toContain("| tinyos | :white_check_mark: success |");
  });

  it("a build refuses to start when the MR head moved after the request", async () => {
    const fake = fakeBuild();
    server = await startServer(testConfig(gitlab.url), { buildFunction: fake, onError: () => {} });
    gitlab.moveHeadAfterRead = "f".repeat(40);
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => server!.store.getBuild(1)?.state === "failed", 15_000, "refused");
    expect(server.store.getBuild(1)?.reason).toBe(
      `the merge request head moved from ${repo.sha.slice(0, 8)} to ffffffff; not building`,
    );
    expect(fake.started).toEqual([]);
  });

  it("kill -9 mid-build, then a restart: the build is marked failed with the reason, its log kept, a failed status posted", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "tsimg-serve-state-"));
    const config = testConfig(gitlab.url, stateDir);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "child.ts"), JSON.stringify(config)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on(
        "data",
        (d: Buffer) => /^url (\S+)/m.test(d.toString()) && resolve(/^url (\S+)/m.exec(d.toString())![1]!),
      );
      child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
    });
    await deliver(url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => gitlab.statusesOf().includes(`running@${repo.sha.slice(0, 7)}`), 10_000, "running status");
    // Killed once the build is well under way (its log lines on disk), however slow the machine.
    const logFile = join(stateDir, "logs", "1.log");
    await until(
      () => existsSync(logFile) && readFileSync(logFile, "utf8").includes("line 3"),
      10_000,
      "the build's log lines",
    );
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));

    const killed: string[] = [];
    server = await startServer(config, {
      buildFunction: fakeBuild(),
      onError: () => {},
      killLeftovers: (dir) => void killed.push(dir),
    });
    const build = server.store.getBuild(1)!;
    expect(build.state).toBe("failed");
    expect(build.reason).toBe("service restarted while the build was running");
    expect(killed).toEqual([join(stateDir, "work", "1")]);
    expect(gitlab.statusesOf().at(-1)).toBe(`failed@${repo.sha.slice(0, 7)}`);
    expect(gitlab.statuses.at(-1)!.description).toBe("failed: service restarted while the build was running");
    const log = await (await fetch(`${server.url}/builds/1/log`)).text();
    expect(log).toContain("line 3");
    expect(log.split("\n").at(-1)).toMatch(/^\d\d:\d\d:\d\d service restarted while the build was running$/);
    expect(gitlab.notes[0]!.body).toContain("| tinyos | :x: failed |");
  }, 30_000);

  it("the dashboard streams the log live over SSE and resumes after Last-Event-ID", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server = await startServer(testConfig(gitlab.url), {
      buildFunction: fakeBuild({ gate, lines: 5 }),
      onError: () => {},
    });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => server!.store.getBuild(1)?.state === "running", 15_000, "running");

    const first = await readSse(`${server.url}/builds/1/events`, {}, (events) =>
      events.some((e) => e.id !== undefined && JSON.parse(e.data).message === "line 5"),
    );
    const lines = first.filter((e) => e.id !== undefined);
    expect(lines.map((e) => Number(e.id))).toEqual(lines.map((_, i) => i + 1));
    const lastId = lines.at(-1)!.id!;

    // Reconnect with Last-Event-ID: only the lines after it, then live lines and the final state.
    const live: { id?: string; event?: string; data: string }[] = [];
    const resumed = readSse(
      `${server.url}/builds/1/events`,
      { "Last-Event-ID": lastId },
      (events) => events.some((e) => e.event === "state" && e.data === '{"state":"success"}'),
      live,
    );
    // The build ends only once the resumed stream has replayed up to "running" (a fixed 100 ms
    // raced the replay on a loaded machine).
    await until(() => live.some((e) => e.event === "state"), 15_000, "the resumed stream's state");
    release();
    const second = await resumed;
    const ids = second.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    expect(ids[0]).toBe(Number(lastId) + 1);
    expect(
      second.some(
        (e) => e.id !== undefined && JSON.parse(e.data).type === "step-end" && JSON.parse(e.data).outcome === "ok",
      ),
    ).toBe(true);
    expect(second.filter((e) => e.event === "state").map((e) => e.data)).toEqual([
      '{"state":"running"}',
      '{"state":"success"}',
    ]);
  });

  it("the dashboard asks for the token when one is set, and accepts bearer and basic auth", async () => {
    server = await startServer(
      testConfig(gitlab.url, undefined, {
        secrets: {
          gitlabToken: "glpat-test-token-123456",
          webhookSecret: "webhook-secret-abcdef",
          dashboardToken: "dash-token-1234",
        },
      }),
      { buildFunction: fakeBuild() },
    );
    const none = await fetch(`${server.url}/api/builds`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Basic realm="tsimg"');
    expect(
      (await fetch(`${server.url}/api/builds`, { headers: { Authorization: "Bearer dash-token-1234" } })).status,
    ).toBe(200);
    expect(
      (
        await fetch(`${server.url}/`, {
          headers: { Authorization: `Basic ${Buffer.from("me:dash-token-1234").toString("base64")}` },
        })
      ).status,
    ).toBe(200);
    // The webhook keeps its own secret, not the dashboard's.
    expect((await deliver(server.url, { object_kind: "push" }, { event: "Push Hook" })).status).toBe(202);
  });

  it("a delivery acknowledged but not yet handled when the service stopped is handled after the restart, once", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "tsimg-serve-state-"));
    const config = testConfig(gitlab.url, stateDir);
    server = await startServer(config, { buildFunction: fakeBuild(), onError: () => {} });
    server.service.deliver = () => {}; // the process "dies" between the answer and the handling
    const payload = notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha });
    const first = await deliver(server.url, payload, { key: "delivery-1" });
    expect(first.status).toBe(202);
    await server.close();
    expect(gitlab.statuses).toEqual([]);

    const fake = fakeBuild();
    server = await startServer(config, { buildFunction: fake, onError: () => {} });
    await until(() => server!.store.getBuild(1)?.state === "success", 10_000, "the resumed delivery's build");
    // GitLab retrying the same delivery, or sending the same note under another key, builds nothing more.
    expect((await deliver(server.url, payload, { key: "delivery-1" })).body).toEqual({ status: "duplicate" });
    expect((await deliver(server.url, payload, { key: "delivery-2" })).body).toEqual({ status: "accepted" });
    await server.service.idle();
    expect(server.store.listBuilds()).toHaveLength(1);
    expect(fake.started).toHaveLength(1);
    expect(server.store.pendingDeliveries()).toEqual([]);
  });
});

/** Reads an SSE stream until done(events) holds. */
/** Reads an SSE stream until done(events); `events` (the caller's, to watch it fill) collects them. */
async function readSse(
  url: string,
  headers: Record<string, string>,
  done: (events: { id?: string; event?: string; data: string }[]) => boolean,
  events: { id?: string; event?: string; data: string }[] = [],
) {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const e: { id?: string; event?: string; data: string } = { data: "" };
      for (const line of block.split("\n")) {
        const [field, ...rest] = line.split(": ");
        if (field === "id") e.id = rest.join(": ");
        if (field === "event") e.event = rest.join(": ");
        if (field === "data") e.data = rest.join(": ");
      }
      if (e.id !== undefined || e.event !== undefined || e.data) events.push(e);
    }
    if (done(events)) break;
  }
  controller.abort();
  return events;
}
