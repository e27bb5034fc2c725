// The dashboard's console screenshot: /builds/<id>/screenshot.png asks the running build
// (through the BuildInput.setScreenshotSource hook the library build fills with
// startBuild().screenshot()), shares one screenshot among requests for 1.5 s, needs the
// dashboard token like every other page, and after a failure serves the build's last
// screen from state_dir even though the work dir is gone. A fake build stands in for QEMU
// here; test/e2e/serve.test.ts fetches the same endpoint during a real build.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BuildFunction } from "../../src/serve/runner.js";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import {
  deliver,
  GitLabStandIn,
  makeRepo,
  notePayload,
  PROJECT_ID,
  SECRET,
  solidPng,
  testConfig,
  TOKEN,
  until,
} from "./helpers.js";

const DASHBOARD_TOKEN = "dash-token-5678";
const auth = { Authorization: `Bearer ${DASHBOARD_TOKEN}` };
const LIVE = solidPng(32, 24, [0, 0, 170]);
const LAST = solidPng(40, 30, [170, 0, 0]);

let gitlab: GitLabStandIn;
let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await gitlab?.close();
});

/** A build whose "VM" starts when vmUp() is called, and which ends when finish(ok) is called. */
function consoleBuild() {
  const takes: number[] = [];
  let vm = false;
  let end!: (ok: boolean) => void;
  const ended = new Promise<boolean>((resolve) => (end = resolve));
  const workDirs: string[] = [];
  const fn: BuildFunction = async (input) => {
    workDirs.push(input.workDir);
    input.setScreenshotSource(async () => {
      takes.push(Date.now());
      if (!vm) throw new Error("no VM is running yet: the build has not started QEMU");
      return LIVE;
    });
    input.onEvent({ build: "tinyos", time: Date.now(), type: "build-start" });
    const ok = await ended;
    vm = false;
    if (ok) return { ok: true, cancelled: false, artifacts: [] };
    // As the library does: the last screen beside the output directory, inside the work dir.
    const path = join(input.workDir, "output.failure.png");
    writeFileSync(path, LAST);
    return { ok: false, cancelled: false, error: "ssh: handshake failed", artifacts: [], failureScreenshot: path };
  };
  return { fn, takes, workDirs, vmUp: () => (vm = true), finish: (ok: boolean) => end(ok) };
}

async function get(path: string, headers: Record<string, string> = auth) {
  const response = await fetch(`${server!.url}${path}`, { headers });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    cache: response.headers.get("cache-control"),
    body: Buffer.from(await response.arrayBuffer()),
  };
}

describe("serve console screenshot", () => {
  it("while the VM runs: a fresh PNG shared for 1.5 s, behind the dashboard token; a failed build's last screen afterwards", async () => {
    gitlab = await new GitLabStandIn().start();
    const repo = makeRepo();
    gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    let clock = 0; // added to the real time: moves the 1.5 s cache along without waiting
    const build = consoleBuild();
    server = await startServer(
      testConfig(gitlab.url, undefined, {
        secrets: { gitlabToken: TOKEN, webhookSecret: SECRET, dashboardToken: DASHBOARD_TOKEN },
      }),
      {
        buildFunction: build.fn,
        now: () => Date.now() + clock,
        onError: () => {},
      },
    );
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => build.workDirs.length === 1, 10_000, "build started");

    // Without the token: 401, and the build is not even asked.
    expect((await get("/builds/1/screenshot.png", {})).status).toBe(401);
    expect((await get("/builds/1/screenshot.png", { Authorization: "Bearer wrong" })).status).toBe(401);
    expect(build.takes).toHaveLength(0);

    // Before the VM runs there is nothing to show.
    const early = await get("/builds/1/screenshot.png");
    expect(early.status).toBe(404);
    expect(JSON.parse(early.body.toString())).toEqual({ error: "no console screenshot of build #1" });
    expect(build.takes).toHaveLength(1);

    build.vmUp();
    clock += 2_000;
    const shots = await Promise.all([
      get("/builds/1/screenshot.png"),
      get("/builds/1/screenshot.png"),
      get("/builds/1/screenshot.png"),
    ]);
    for (const shot of shots) {
      expect(shot).toMatchObject({ status: 200, type: "image/png", cache: "no-store" });
      expect(shot.body.equals(LIVE)).toBe(true);
    }
    expect(build.takes).toHaveLength(2); // three pages asking, one screenshot
    expect((await get("/builds/1/screenshot.png")).status).toBe(200);
    expect(build.takes).toHaveLength(2);
    clock += 2_000;
    expect((await get("/builds/1/screenshot.png")).status).toBe(200);
    expect(build.takes).toHaveLength(3);

    build.finish(false);
    await until(() => server!.store.getBuild(1)?.state === "failed", 10_000, "build failed");
    await until(() => !existsSync(build.workDirs[0]!), 10_000, "work dir removed");
    const last = await get("/builds/1/screenshot.png");
    expect(last).toMatchObject({ status: 200, type: "image/png" });
    expect(last.body.equals(LAST)).toBe(true);
    expect(build.takes).toHaveLength(3); // the build is over: never asked again
    expect((await get("/builds/1/screenshot.png", {})).status).toBe(401);
    expect((await get("/builds/2/screenshot.png")).status).toBe(404); // no such build
  });

  it("a build that succeeded shows no screenshot", async () => {
    gitlab = await new GitLabStandIn().start();
    const repo = makeRepo();
    gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    const build = consoleBuild();
    server = await startServer(testConfig(gitlab.url), { buildFunction: build.fn, onError: () => {} });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => build.workDirs.length === 1, 10_000, "build started");
    build.vmUp();
    expect((await get("/builds/1/screenshot.png", {})).status).toBe(200);
    build.finish(true);
    await until(() => server!.store.getBuild(1)?.state === "success", 10_000, "build done");
    expect((await get("/builds/1/screenshot.png", {})).status).toBe(404);
  });
});
