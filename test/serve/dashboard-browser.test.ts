// The dashboard in a real browser (done-when 5): playwright-core drives Debian's chromium,
// headless, never a downloaded browser. A fake build writes a log line every 200 ms and
// hands out a real PNG as its console screenshot, then succeeds; the build page must show
// the log growing and the console image, then the final state and checksum, all without a
// reload. (The fake stands in for QEMU here; test/e2e/serve.test.ts fetches the same
// screenshot endpoint during a real build.)
// Skipped only when /usr/bin/chromium is missing and CI is not set (browser.ts).
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogStore } from "../../src/serve/logs.js";
import type { BuildFunction } from "../../src/serve/runner.js";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import { Store } from "../../src/serve/store.js";
import { launchBrowser, runBrowserTests, visibleLines } from "./browser.js";
import { deliver, GitLabStandIn, makeRepo, notePayload, PROJECT_ID, solidPng, testConfig, until } from "./helpers.js";

const LINES = 25;
const CONSOLE = solidPng(720, 400);
const LINE_MS = 200;
const SHA256 = "5f3c8e0b9d2a71c4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1";

/** A promise the test opens: the build waits on it, so the page's checks never race the build's clock. */
function gate(): { passed: Promise<void>; open: () => void } {
  let open!: () => void;
  const passed = new Promise<void>((resolve) => (open = resolve));
  return { passed, open };
}
/** Where the first build waits: before its first line, halfway, and before its VM goes away. */
const gates = { start: gate(), half: gate(), end: gate() };

/** A build that logs one line every LINE_MS, then succeeds with one artifact. */
const slowBuild: BuildFunction = async (input) => {
  const emit = (e: Record<string, unknown>) => input.onEvent({ build: "tinyos", time: Date.now(), ...e } as never);
  emit({ type: "build-start" });
  emit({ type: "step-start", step: "boot", title: "Booting the VM" });
  let vm = true;
  input.setScreenshotSource(async () => (vm ? CONSOLE : Promise.reject(new Error("no VM is running any more"))));
  await gates.start.passed;
  for (let i = 1; i <= LINES; i++) {
    if (i === Math.ceil(LINES / 2)) await gates.half.passed;
    await new Promise((r) => setTimeout(r, LINE_MS));
    if (input.signal.aborted) return { ok: false, cancelled: true, artifacts: [] };
    emit({ type: "serial", line: `tinyos boot message ${i} of ${LINES}` });
  }
  await gates.end.passed;
  vm = false;
  emit({ type: "step-end", step: "boot", ms: LINES * LINE_MS, outcome: "ok" });
  emit({ type: "step-start", step: "provision", title: "Provisioning with shell" });
  emit({
    type: "output",
    source: "shell",
    stream: "stdout",
    line: "installed <b>nginx</b> <img src=x onerror=alert(1)>",
  });
  emit({ type: "log", level: "warn", message: "disk is 90% full" });
  emit({ type: "step-end", step: "provision", ms: 10, outcome: "ok" });
  return {
    ok: true,
    cancelled: false,
    artifacts: [
      {
        file: join(input.workDir, "output/tinyos.qcow2"),
        size: 48 * 1024 * 1024 + 123_456,
        sha256: SHA256,
        uploadedTo: "https://dav.example.com/images/tinyos.qcow2",
      },
    ],
  };
};

describe.runIf(runBrowserTests)("serve dashboard in chromium", () => {
  let gitlab: GitLabStandIn;
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  const tmp = mkdtempSync(join(tmpdir(), "tsimg-serve-browser-"));

  beforeAll(async () => {
    gitlab = await new GitLabStandIn().start();
    const repo = makeRepo();
    gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    server = await startServer(testConfig(gitlab.url), { buildFunction: slowBuild, onError: () => {} });
    ({ context, page } = await launchBrowser(tmp));
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => server.store.getBuild(1)?.state === "running", 10_000, "build running");
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await gitlab?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("the build page follows the log and the console live, then shows the final state and checksum without reloading", async () => {
    let navigations = 0;
    page.on("framenavigated", (frame) => void (frame === page.mainFrame() && (navigations += 1)));
    await page.goto(`${server.url}/builds/1`);
    expect(navigations).toBe(1);
    await page.evaluate(() => ((window as unknown as { loadedOnce: number }).loadedOnce = 42));
    const logLines = () =>
      page.$eval("#log", (el) => el.textContent!.split("\n").filter((l) => l.includes("tinyos boot message")).length);

    // Mid-build: the page says it is live and the log grows between two looks.
    await page.waitForFunction(() => document.querySelector("#meta dd.running") !== null, undefined, {
      timeout: 10_000,
    });
    await expect.poll(() => page.textContent("#live"), { timeout: 10_000 }).toBe("(live)");
    gates.start.open();
    await page.waitForFunction(
      () => (document.getElementById("log")!.textContent!.match(/tinyos boot message/g) ?? []).length >= 2,
      undefined,
      { timeout: 10_000 },
    );
    const first = await logLines();
    expect(first).toBeLessThan(LINES); // the build waits halfway until the test has looked
    gates.half.open();
    await page.waitForFunction(
      (seen) => (document.getElementById("log")!.textContent!.match(/tinyos boot message/g) ?? []).length > seen,
      first,
      { timeout: 10_000 },
    );
    const second = await logLines();
    expect(second).toBeGreaterThan(first);
    // The console screenshot, loaded (decoded by the browser) while the build still runs.
    await page.waitForFunction(
      () => {
        const img = document.getElementById("screen") as HTMLImageElement;
        return img.complete && img.naturalWidth > 0 && !document.getElementById("screen-box")!.hidden;
      },
      undefined,
      { timeout: 10_000 },
    );
    expect(
      await page.$eval("#screen", (img) => [
        (img as HTMLImageElement).naturalWidth,
        (img as HTMLImageElement).naturalHeight,
      ]),
    ).toEqual([720, 400]);
    expect(await page.$eval("#screen", (img) => new URL((img as HTMLImageElement).src).pathname)).toBe(
      "/builds/1/screenshot.png",
    );
    expect(await page.textContent("#meta dd.running")).toBe("running");
    gates.end.open();

    // The end: state, duration and the artifact with its checksum, pushed over the event stream.
    await page.waitForFunction(() => document.querySelector("#meta dd.success") !== null, undefined, {
      timeout: 15_000,
    });
    await expect.poll(() => page.textContent("#artifacts tbody"), { timeout: 5_000 }).toContain(SHA256);
    expect(await logLines()).toBe(LINES);
    expect(await page.textContent("#artifacts tbody")).toContain("48.1 MiB");
    expect(await page.textContent("#artifacts tbody")).toContain("https://dav.example.com/images/tinyos.qcow2");
    expect(await page.textContent("#live")).toBe("");
    expect(await page.textContent("#title")).toBe("Build #1: tinyos");
    // Finished without a failure: no VM, no last screen, so no console image.
    await page.waitForFunction(() => document.getElementById("screen-box")!.hidden, undefined, { timeout: 5_000 });
    // Same document all along: no navigation, and the marker set after the first load is still there.
    expect(navigations).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: number }).loadedOnce)).toBe(42);

    // The step timeline: one bar per step, with the exact durations the step-end events gave.
    await expect
      .poll(
        () =>
          page.$$eval("#timeline g.step", (gs) =>
            gs.map((g) => [(g as SVGElement).dataset.step, (g as SVGElement).dataset.ms]),
          ),
        { timeout: 10_000 },
      )
      .toEqual([
        ["boot", String(LINES * LINE_MS)],
        ["provision", "10"],
      ]);
    const png = join(tmp, "build-page.png");
    await page.screenshot({ path: png, fullPage: true });
    const bytes = readFileSync(png);
    expect(bytes.length).toBeGreaterThan(1000);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.subarray(12, 16).toString("latin1")).toBe("IHDR");
    expect(bytes.readUInt32BE(16)).toBeGreaterThan(0); // width
    expect(bytes.readUInt32BE(20)).toBeGreaterThan(0); // height
    // TSIMG_KEEP_SCREENSHOT=<file>: keep a copy to look at (the temp dir is removed).
    if (process.env.TSIMG_KEEP_SCREENSHOT) copyFileSync(png, process.env.TSIMG_KEEP_SCREENSHOT);
  }, 60_000);

  it("the log's filters hide and show serial lines, provisioner output, steps and messages; the search narrows it; text stays text", async () => {
    await page.goto(`${server.url}/builds/1`);
    await page.waitForFunction(() => document.querySelectorAll("#log .line").length >= 25, undefined, {
      timeout: 10_000,
    });
    const shown = (kind: string) => visibleLines(page, kind);
    const counts = async () => ({
      serial: await shown("serial"),
      output: await shown("output"),
      step: await shown("step"),
      log: await shown("log"),
    });
    const all = await counts();
    expect(all).toMatchObject({ serial: LINES, output: 1, log: 2 }); // log: serve's "fetching" and the warning
    expect(all.step).toBeGreaterThanOrEqual(5);
    await page.uncheck("#log-filters input[name=serial]");
    expect(await counts()).toEqual({ ...all, serial: 0 });
    await page.uncheck("#log-filters input[name=output]");
    await page.uncheck("#log-filters input[name=log]");
    expect(await counts()).toEqual({ ...all, serial: 0, output: 0, log: 0 });
    await page.check("#log-filters input[name=serial]");
    await page.uncheck("#log-filters input[name=step]");
    expect(await counts()).toEqual({ serial: LINES, output: 0, step: 0, log: 0 });
    for (const kind of ["step", "output", "log"]) await page.check(`#log-filters input[name=${kind}]`);
    expect(await counts()).toEqual(all);
    // The search: only the lines that contain it, whatever their kind; cleared, everything again.
    await page.fill("#log-filters input[type=search]", "boot message 1");
    expect(await counts()).toEqual({ serial: 11, output: 0, step: 0, log: 0 }); // 1, 10-19
    await page.fill("#log-filters input[type=search]", "NGINX");
    expect(await counts()).toEqual({ serial: 0, output: 1, step: 0, log: 0 });
    // The provisioner's output as printed, markup and all, never parsed as HTML.
    expect(await page.textContent("#log .k-output")).toContain("installed <b>nginx</b> <img src=x onerror=alert(1)>");
    expect(await page.$$eval("#log b, #log img", (els) => els.length)).toBe(0);
    await page.fill("#log-filters input[type=search]", "");
    expect(await counts()).toEqual(all);
  }, 30_000);

  it("the build list shows the build with its image, MR, commit, requester, state and duration", async () => {
    await page.goto(server.url);
    const row = page.locator("#builds tbody tr", { hasText: "#1" });
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator("td").allTextContents();
    const build = server.store.getBuild(1)!;
    expect(cells.slice(0, 7)).toEqual(["#1", "tinyos", "", "!3", build.sha.slice(0, 8), "user1", "success"]);
    // Started: relative and absolute.
    expect(cells[7]).toMatch(/^(just now|\d+ min ago) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/); // started within the test run
    expect(cells[8]).toMatch(/^\d+ s$/);
    expect(await row.locator("a").first().getAttribute("href")).toBe("/builds/1");
    expect(await row.locator("a", { hasText: "!3" }).getAttribute("href")).toBe(
      `${gitlab.url}/infra/images/-/merge_requests/3`,
    );
  }, 30_000);

  it("the list drawn from the data serve put in the page shows markup in a requester's name as text, and runs none of it", async () => {
    const name = '</script><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';
    const request = server.store.addRequest({ projectId: PROJECT_ID, mrIid: 4, noteId: 77, requestedBy: name });
    const b = server.store.addBuild({
      requestId: request.id,
      projectId: PROJECT_ID,
      mrIid: 4,
      image: "tinyos",
      sha: "c".repeat(40),
      repoUrl: "https://gitlab.example.com/x.git",
      requestedBy: name,
    });
    server.store.finish(b.id, "canceled", {});
    let asked = 0;
    page.on("request", (r) => void (new URL(r.url()).pathname.startsWith("/api/") && (asked += 1)));
    await page.goto(`${server.url}/?state=canceled`);
    const row = page.locator(`#builds tbody tr[data-build="${b.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    // Drawn from the page's own data: no request to the API before the first refresh (5 s later).
    expect(asked).toBe(0);
    expect(await row.locator("td").nth(5).textContent()).toBe(name);
    expect(await page.$$eval("#builds img, body > img", (els) => els.length)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.textContent("#page")).toBe("page 1 of 1 (1 build)");
    expect(await page.inputValue("#filters select[name=state]")).toBe("canceled");
  }, 30_000);

  it("a long log: its end is drawn first, the lines above follow in order; the search and the filters cover them all", async () => {
    const dir = mkdtempSync(join(tmp, "long-log-"));
    const store = new Store(dir);
    const request = store.addRequest({ projectId: PROJECT_ID, mrIid: 5, noteId: 88, requestedBy: "user1" });
    const b = store.addBuild({
      requestId: request.id,
      projectId: PROJECT_ID,
      mrIid: 5,
      image: "tinyos",
      sha: "d".repeat(40),
      repoUrl: "https://gitlab.example.com/x.git",
      requestedBy: "user1",
    });
    store.markRunning(b.id, join(dir, "work"));
    store.finish(b.id, "success", {});
    store.close();
    const logs = new LogStore(join(dir, "logs"));
    let time = Date.parse("2026-01-01T00:00:00Z");
    const emit = (e: Record<string, unknown>) =>
      logs.append(b.id, { build: "tinyos", time: (time += 5), ...e } as never);
    emit({ type: "build-start" });
    emit({ type: "step-start", step: "install", title: "Installing" });
    for (let i = 0; i < 3000; i++) emit({ type: "serial", line: `kernel line ${i}` });
    emit({ type: "step-end", step: "install", ms: 15_000, outcome: "ok" });
    emit({ type: "build-end", ok: true, ms: 15_010 });
    logs.flush();
    const long = await startServer(testConfig(gitlab.url, dir), { onError: () => {} });
    // The lines above the end come from events.ndjson: held back a moment, so the state
    // before them can be seen on any machine (on a fast one, they were drawn before the
    // test could look, and it timed out waiting for data-pending).
    const held = "**/events.ndjson*";
    await page.route(held, async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    try {
      await page.goto(`${long.url}/builds/${b.id}`);
      // The end first (the reader sees the bottom of the log), the rest still to come...
      await page.waitForSelector("#log[data-pending]", { state: "attached", timeout: 10_000 });
      expect(await page.textContent("#log .chunk:last-child .line:last-child")).toMatch(
        /build succeeded after 15\.0 s\n$/,
      );
      await page.fill("#log-filters input[type=search]", "kernel line 12");
      // ...then every line, in the order of the plain log, and still scrolled to the end.
      await page.waitForSelector("#log:not([data-pending])", { state: "attached", timeout: 10_000 });
      const plain = await (await fetch(`${long.url}/builds/${b.id}/log`)).text();
      expect(await page.textContent("#log")).toBe(`${plain}\n`);
      expect(await page.$eval("#log", (pre) => pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4)).toBe(true);
      // The search typed while lines were still coming applies to them too: 12, 120-129, 1200-1299.
      expect(await visibleLines(page, "serial")).toBe(111);
      await page.fill("#log-filters input[type=search]", "");
      expect(await visibleLines(page, "serial")).toBe(3000);
      await page.uncheck("#log-filters input[name=serial]");
      expect(await visibleLines(page, "serial")).toBe(0);
      await page.check("#log-filters input[name=serial]");
      // The timeline, from all the events.
      expect(await page.$$eval("#timeline g.step", (gs) => gs.map((g) => (g as SVGElement).dataset.ms))).toEqual([
        "15000",
      ]);
    } finally {
      await page.unroute(held);
      await long.close();
    }
  }, 60_000);

  it("an image's history with more builds than a screenful: the chart and the first rows at once, every row after, newest first", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 45; i++) {
      const request = server.store.addRequest({
        projectId: PROJECT_ID,
        mrIid: 6,
        noteId: 100 + i,
        requestedBy: "user1",
      });
      const b = server.store.addBuild({
        requestId: request.id,
        projectId: PROJECT_ID,
        mrIid: 6,
        image: "many",
        sha: String(i).padStart(40, "e"),
        repoUrl: "https://gitlab.example.com/x.git",
        requestedBy: "user1",
      });
      server.store.markRunning(b.id, join(tmp, "work"));
      server.store.queries.setVersion(b.id, `3.${i}`);
      server.store.finish(b.id, "success", {});
      ids.push(b.id);
    }
    await page.goto(`${server.url}/images/many`);
    await page.waitForSelector("#chart svg circle.point");
    expect(await page.$$eval("#chart svg circle.point", (cs) => cs.length)).toBe(45);
    await expect.poll(() => page.$$eval("#history tbody tr", (rows) => rows.length), { timeout: 10_000 }).toBe(45);
    expect(
      await page.$$eval("#history tbody tr", (rows) => rows.map((r) => Number((r as HTMLElement).dataset.build))),
    ).toEqual(ids.reverse());
    expect(await page.textContent("#history tbody tr:last-child .version")).toBe("3.0");
  }, 30_000);
});
