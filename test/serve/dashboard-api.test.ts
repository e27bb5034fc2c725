// The dashboard's JSON for issue 18's pages, against a real serve and its database: the
// build list's filters and pages, the links back to GitLab, a running build's current step
// and version, the images and an image's history.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import type { BuildFunction } from "../../src/serve/runner.js";
import { MASK } from "../../src/core/masker.js";
import { renderSbom } from "../../src/inventory/sbom.js";
import {
  deliver,
  fakeBuild,
  GitLabStandIn,
  makeRepo,
  notePayload,
  PROJECT_ID,
  testConfig,
  TOKEN,
  until,
} from "./helpers.js";

let gitlab: GitLabStandIn;
let server: RunningServer;
let repo: ReturnType<typeof makeRepo>;
let stateDir: string;

beforeEach(async () => {
  gitlab = await new GitLabStandIn().start();
  repo = makeRepo();
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
});
afterEach(async () => {
  await server?.close();
  await gitlab.close();
});

async function start(build: BuildFunction = fakeBuild()): Promise<RunningServer> {
  stateDir = mkdtempSync(join(tmpdir(), "tsimg-serve-state-"));
  server = await startServer(testConfig(gitlab.url, stateDir), { buildFunction: build, onError: () => {} });
  return server;
}

async function get(path: string): Promise<{ status: number; total: string | null; body: any }> {
  const response = await fetch(server.url + path);
  return { status: response.status, total: response.headers.get("X-Total-Count"), body: await response.json() };
}

/** Asks for a build of tinyos (build number id), waits for its end, and returns its events as events.ndjson serves them. */
async function builtEvents(id: number): Promise<Record<string, unknown>[]> {
  await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
  await until(() => server.store.getBuild(id)?.state === "success", 10_000, "the build's end");
  const text = await (await fetch(`${server.url}/builds/${id}/events.ndjson`)).text();
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Builds written straight into serve's database: image, state, MR and requester cycle; the clock moves a minute per step. */
function fill(n: number, now: { t: number }): void {
  const { store } = server;
  for (let i = 0; i < n; i++) {
    const request = store.addRequest({
      projectId: 99,
      mrIid: 10 + (i % 3),
      noteId: 500 + i,
      requestedBy: `user${i % 2}`,
    });
    const b = store.addBuild({
      requestId: request.id,
      projectId: 99,
      mrIid: request.mrIid,
      image: ["alpha", "beta"][i % 2]!,
      sha: String(i).padStart(40, "0"),
      repoUrl: "https://gitlab.example.com/x.git",
      requestedBy: request.requestedBy,
    });
    store.markRunning(b.id, `/nonexistent/${b.id}`);
    store.queries.setVersion(b.id, `1.${i}`);
    now.t += 60_000;
    store.finish(b.id, i % 3 === 0 ? "failed" : "success", {});
  }
}

describe("dashboard API", () => {
  it("the build list filters by image, state, MR and requester, pages with X-Total-Count, newest first", async () => {
    await start();
    fill(30, { t: 0 });
    const all = await get("/api/builds?per_page=10");
    expect(all.total).toBe("30");
    expect(all.body.map((b: { id: number }) => b.id)).toEqual([30, 29, 28, 27, 26, 25, 24, 23, 22, 21]);
    const page3 = await get("/api/builds?per_page=10&page=3");
    expect(page3.body.map((b: { id: number }) => b.id)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect((await get("/api/builds?per_page=10&page=4")).body).toEqual([]);
    const filtered = await get("/api/builds?image=beta&state=failed");
    // i odd (beta) and i % 3 == 0 (failed): i = 3, 9, 15, 21, 27 -> ids 4, 10, 16, 22, 28.
    expect(filtered.body.map((b: { id: number }) => b.id)).toEqual([28, 22, 16, 10, 4]);
    expect(filtered.total).toBe("5");
    const mine = await get("/api/builds?requester=user1&mr=11");
    // i odd and i % 3 == 1: i = 1, 7, 13, 19, 25.
    expect(
      mine.body.map((b: { id: number; requestedBy: string; mrIid: number }) => [b.id, b.requestedBy, b.mrIid]),
    ).toEqual([26, 20, 14, 8, 2].map((id) => [id, "user1", 11]));
    // Nonsense filters are ignored, never an error; a page past the end is empty.
    expect((await get("/api/builds?mr=abc&page=-1&per_page=100000")).body).toHaveLength(30);
    expect((await get("/api/builds?image=%3Cscript%3E")).body).toEqual([]);
  });

  it("a build links back to GitLab: the project's path from the webhook, MR, commit, the comment that asked and who asked; an unknown project by id", async () => {
    await start();
    await deliver(
      server.url,
      notePayload({ note: "/tsimg build tinyos", noteId: 4242, repo: repo.dir, sha: repo.sha }),
    );
    await until(() => server.store.getBuild(1)?.state === "success", 10_000, "the build's end");
    const { body } = await get("/api/builds/1");
    const project = `${gitlab.url}/infra/images`;
    expect(body.projectPath).toBe("infra/images");
    expect(body.links).toEqual({
      project,
      mr: `${project}/-/merge_requests/3`,
      commit: `${project}/-/commit/${repo.sha}`,
      comment: `${project}/-/merge_requests/3#note_4242`,
      requester: `${gitlab.url}/user1`,
    });
    fill(1, { t: 0 });
    const other = (await get("/api/builds/2")).body;
    expect(other.projectPath).toBeNull();
    expect(other.links.mr).toBe(`${gitlab.url}/projects/99/-/merge_requests/10`);
  });

  it("a running build shows its current step and the version its build-start named; finished, no current step", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await start(async (input) => {
      const emit = (e: Record<string, unknown>) => input.onEvent({ build: "tinyos", time: Date.now(), ...e } as never);
      emit({ type: "build-start", version: "2.0.0" });
      emit({ type: "step-start", step: "wait-ssh", title: "Waiting for SSH..." });
      await gate;
      emit({ type: "step-end", step: "wait-ssh", ms: 5, outcome: "ok" });
      return { ok: true, cancelled: false, artifacts: [] };
    });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await expect
      .poll(async () => (await get("/api/builds")).body[0]?.currentStep, { timeout: 10_000 })
      .toBe("Waiting for SSH...");
    expect((await get("/api/builds/1")).body).toMatchObject({ state: "running", version: "2.0.0" });
    release();
    await until(() => server.store.getBuild(1)?.state === "success", 10_000, "the build's end");
    expect((await get("/api/builds/1")).body).toMatchObject({ currentStep: null, version: "2.0.0" });
    // The version is in the stored build-start event too.
    const stored = readFileSync(join(stateDir, "logs", "1.log"), "utf8");
    expect(stored).toContain('"type":"build-start","build":"tinyos","time":');
    expect(stored).toContain('"version":"2.0.0"');
  });

  it("/api/images: one row per image with its latest version, last result and durations; an image's history newest first, with a diff slot", async () => {
    await start();
    fill(6, { t: 0 });
    const images = (await get("/api/images")).body;
    expect(images.map((i: { image: string }) => i.image)).toEqual(["alpha", "beta"]);
    expect(images[1]).toMatchObject({ image: "beta", version: "1.5", lastBuildId: 6, lastState: "success", builds: 3 });
    expect(images[1].durations).toHaveLength(3);
    const history = (await get("/api/images/beta")).body;
    expect(history.image.version).toBe("1.5");
    expect(
      history.builds.map((b: { id: number; version: string; diff: unknown }) => [b.id, b.version, b.diff]),
    ).toEqual([
      [6, "1.5", null],
      [4, "1.3", null],
      [2, "1.1", null],
    ]);
    // Each build as the history shows it: what its row and its chart point need, nothing more.
    expect(history.builds[0]).toEqual({
      id: 6,
      version: "1.5",
      sha: "5".padStart(40, "0"),
      mrIid: 12,
      state: "success",
      durationMs: expect.any(Number),
      finishedAt: expect.any(Number),
      links: {
        mr: `${gitlab.url}/projects/99/-/merge_requests/12`,
        commit: `${gitlab.url}/projects/99/-/commit/${"5".padStart(40, "0")}`,
      },
      diff: null,
    });
    expect((await get("/api/images/nothing")).status).toBe(404);
    for (const path of ["/images", "/images/beta"]) {
      const page = await fetch(server.url + path);
      expect([page.status, page.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
    }
  });

  it("each page comes with its first view's data: the same JSON as its API, escaped so no text ends the block", async () => {
    await start();
    fill(6, { t: 0 });
    // A requester and a version that try to end the data block and run a script.
    const hostile = '</script><script>alert(1)</script><!-- \u2028 & "quoted"';
    const request = server.store.addRequest({ projectId: 99, mrIid: 12, noteId: 900, requestedBy: hostile });
    const b = server.store.addBuild({
      requestId: request.id,
      projectId: 99,
      mrIid: 12,
      image: "beta",
      sha: "f".repeat(40),
      repoUrl: "https://gitlab.example.com/x.git",
      requestedBy: hostile,
    });
    server.store.markRunning(b.id, "/nonexistent/7");
    server.store.queries.setVersion(b.id, hostile);
    server.store.finish(b.id, "failed", { reason: hostile });

    /** The page's HTML and the JSON in its data block. */
    const page = async (path: string) => {
      const html = await (await fetch(server.url + path)).text();
      const blocks = [...html.matchAll(/<script type="application\/json" id="initial-data">(.*?)<\/script>/gs)];
      expect(blocks).toHaveLength(1);
      const text = blocks[0]![1]!;
      expect(text).not.toMatch(/[<>\u2028]/);
      return { html, data: JSON.parse(text) };
    };
    const list = await page("/");
    expect(list.data).toEqual({
      builds: (await get("/api/builds?per_page=50")).body,
      total: 7,
      images: ["alpha", "beta"],
    });
    expect(list.data.builds[0].requestedBy).toBe(hostile);
    expect(list.html).not.toContain("<script>alert(1)");
    const filtered = await page("/?image=beta&state=failed&page=1");
    expect(filtered.data.builds).toEqual((await get("/api/builds?image=beta&state=failed&per_page=50")).body);
    expect(filtered.data.builds.map((x: { id: number }) => x.id)).toEqual([7, 4]);
    expect((await page("/images")).data).toEqual((await get("/api/images")).body);
    expect((await page("/images/beta")).data).toEqual((await get("/api/images/beta")).body);
    const build = await page("/builds/7");
    expect(build.data).toEqual({ build: (await get("/api/builds/7")).body, log: { count: 0, tail: [], steps: [] } });
    expect(build.data.build.reason).toBe(hostile);
    // The build page starts loading its events with the page (the same URL build.js fetches).
    expect(build.html).toContain('<link rel="preload" as="fetch" crossorigin href="/builds/7/events.ndjson">');
    // A build with a log: the page carries its events as events.ndjson serves them (a short log: all of them).
    const events = await builtEvents(8);
    expect(events.length).toBeGreaterThan(3);
    expect((await page("/builds/8")).data.log).toEqual({ count: events.length, tail: events, steps: [] });
    // An image without builds: no data; the page asks the API, which answers 404.
    const none = await (await fetch(`${server.url}/images/nothing`)).text();
    expect(none).not.toContain("initial-data");
  });

  it("the pages' scripts and style are versioned and cached for good; each module a page imports is announced up front", async () => {
    await start();
    const html = await (await fetch(`${server.url}/images`)).text();
    const version = /<script type="module" src="\/assets\/([0-9a-f]{12})\/images\.js"><\/script>/.exec(html)?.[1];
    expect(version).toBeDefined();
    expect(html).toContain(`<link rel="stylesheet" href="/assets/${version}/style.css">`);
    // images.js imports charts.js and common.js; charts.js imports common.js too (announced once).
    expect([...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1])).toEqual([
      `/assets/${version}/charts.js`,
      `/assets/${version}/common.js`,
    ]);
    const script = await fetch(`${server.url}/assets/${version}/images.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("cache-control")).toBe("max-age=31536000,immutable");
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toBe(
      readFileSync(new URL("../../src/serve/public/images.js", import.meta.url), "utf8"),
    );
    // Another version is no page at all; the unversioned file is still served (not cached for good).
    expect((await fetch(`${server.url}/assets/000000000000/images.js`)).status).toBe(404);
    const plain = await fetch(`${server.url}/images.js`);
    expect([plain.status, plain.headers.get("cache-control")]).toEqual([200, "max-age=0"]);
  });

  it("a long log's page carries its last 200 events and, of those before, only the timeline's", async () => {
    await start(async (input) => {
      const emit = (e: Record<string, unknown>) => input.onEvent({ build: "tinyos", time: Date.now(), ...e } as never);
      emit({ type: "build-start" });
      emit({ type: "step-start", step: "install", title: "Installing" });
      for (let i = 0; i < 300; i++) emit({ type: "serial", line: `"type":"step-end" ${i}` });
      emit({ type: "step-end", step: "install", ms: 9, outcome: "ok" });
      return { ok: true, cancelled: false, artifacts: [] };
    });
    const events = await builtEvents(1);
    const html = await (await fetch(`${server.url}/builds/1`)).text();
    const data = JSON.parse(/<script type="application\/json" id="initial-data">(.*?)<\/script>/s.exec(html)![1]!);
    const before = events.slice(0, -200);
    expect(data.log).toEqual({
      count: events.length,
      tail: events.slice(-200),
      steps: before.filter((e) => ["build-start", "step-start", "step-end", "build-end"].includes(e.type as string)),
    });
    // Before the tail: build-start and step-start (the serial lines, though they mention a step-end, are no steps).
    expect(data.log.steps.map((e: { type: string }) => e.type)).toEqual(["build-start", "step-start"]);
  });

  it("each of the build list's filters is an index search, never a scan of every build", async () => {
    await start();
    fill(30, { t: 0 });
    const db = new Database(join(stateDir, "tsimg.db"), { readonly: true });
    try {
      for (const column of ["image", "state", "mr_iid", "requested_by"]) {
        const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM builds b WHERE b.${column} = ? ORDER BY b.id DESC`);
        const detail = (plan.all("x") as { detail: string }[]).map((r) => r.detail).join("; ");
        expect([column, detail]).toEqual([
          column,
          expect.stringMatching(/^SEARCH b USING (COVERING )?INDEX builds_\w+ \(\w+=\?\)$/),
        ]);
      }
    } finally {
      db.close();
    }
  });

  it("an image's history shows what changed since the build before it, from the two builds' SBOMs, masked", async () => {
    const sbom = (packages: Array<[string, string]>) =>
      renderSbom(
        {
          os: { ID: "tinyos" },
          packages: packages.map(([name, version]) => ({ name, version, arch: "amd64", manager: "dpkg" })),
          services: [],
          users: [],
          groups: [],
          ports: [],
          files: [],
          warnings: [],
        },
        { name: "tinyos", timestamp: 0, runUuid: "5f0c6c2a-1b6e-4a0e-9a53-0d7c1c2b3a4d", tsimgVersion: "0.1.0" },
      );
    // The second image has a package named like serve's GitLab token: the page must not show it.
    const sboms = [
      sbom([["busybox", "1.35"]]),
      sbom([
        ["busybox", "1.36"],
        ["hello", "2.10"],
        [TOKEN, "1"],
      ]),
    ];
    let built = 0;
    await start(fakeBuild({ sbom: () => sboms[built++]! }));
    for (const id of [1, 2]) {
      await deliver(
        server.url,
        notePayload({ note: "/tsimg build tinyos", noteId: 700 + id, repo: repo.dir, sha: repo.sha }),
      );
      await until(() => server.store.getBuild(id)?.state === "success", 10_000, `build ${id}'s end`);
    }
    const history = (await get("/api/images/tinyos")).body;
    expect(history.builds.map((b: { id: number; diff: unknown }) => [b.id, b.diff])).toEqual([
      [
        2,
        {
          base: 1,
          summary: "3 packages",
          changes: [`+ ${MASK} 1 (amd64)`, "+ hello 2.10 (amd64)", "~ busybox 1.35 -> 1.36"],
        },
      ],
      [1, { base: null, summary: "first recorded build for its target branch", changes: [] }],
    ]);
    const page = await (await fetch(`${server.url}/images/tinyos`)).text();
    expect(page).toContain("+ hello 2.10 (amd64)");
    expect(page).not.toContain(TOKEN);
  });
});
