// Done-when 1: the whole serve flow with the REAL tinyos build under QEMU, against a GitLab
// API stand-in written to GitLab's documented endpoints and payloads. GitLab itself cannot
// run on these machines, so the stand-in (test/serve/helpers.ts) plays it. While the build
// runs, Debian's chromium watches its page (issue 18): the step timeline grows step by step
// and ends with the durations of the build's steps; the filters hide and show the serial
// lines; the links point at GitLab. A second build of tinyos (a new version) then gives the
// images page two builds and the image's chart two points.
// TSIMG_DASHBOARD_SHOTS=<dir> keeps screenshots of the pages (scripts/dashboard-screenshots.sh).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServeConfig } from "../../src/serve/config.js";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import { launchBrowser, runBrowserTests, visibleLines } from "../serve/browser.js";
import { GitLabStandIn, PROJECT_ID, deliver, notePayload, testConfig, until } from "../serve/helpers.js";
import { pngSize, requireFixture } from "./helpers.js";
import { makeTinyosRepo } from "./serve-repo.js";

let gitlab: GitLabStandIn;
let server: RunningServer;
let config: ServeConfig;
let repo: ReturnType<typeof makeTinyosRepo>;
let browser: { context: BrowserContext; page: Page } | undefined;
const tmp = mkdtempSync(join(tmpdir(), "tsimg-serve-e2e-browser-"));
const shots = process.env.TSIMG_DASHBOARD_SHOTS;

beforeAll(async () => {
  requireFixture();
  gitlab = await new GitLabStandIn().start();
  repo = makeTinyosRepo();
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
  config = testConfig(gitlab.url);
  server = await startServer(config); // default BuildFunction: loadTemplate + build
  if (runBrowserTests) browser = await launchBrowser(tmp, { width: 1280, height: 900 });
}, 60_000);

afterAll(async () => {
  await browser?.context.close();
  await server?.close();
  await gitlab?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const finished = (id: number) => ["success", "failed", "canceled"].includes(server.store.getBuild(id)?.state ?? "");

/** The step-end events of a build's stored log: what the build's summary lists. */
function stepEnds(id: number): { step: string; ms: number }[] {
  return readFileSync(join(config.stateDir, "logs", `${id}.log`), "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; step: string; ms: number })
    .filter((e) => e.type === "step-end")
    .map((e) => ({ step: e.step, ms: e.ms }));
}

/** The timeline's bars: step and exact duration (empty while the step runs). */
function bars(page: Page): Promise<{ step: string; ms: string }[]> {
  return page.$$eval("#timeline g.step", (gs) =>
    gs.map((g) => ({ step: (g as SVGElement).dataset.step!, ms: (g as SVGElement).dataset.ms! })),
  );
}

async function shot(page: Page, name: string): Promise<void> {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  const file = join(tmp, name);
  await page.screenshot({ path: file, fullPage: true });
  copyFileSync(file, join(shots, name));
}

describe("tsimg serve e2e", () => {
  it(
    "/tsimg build tinyos on an MR: fast 2xx, real build with its console on the dashboard, statuses pending -> running -> success, emoji, one note with sha256 and duration",
    async () => {
      await fetch(`${server.url}/api/builds`);
      const response = await deliver(
        server.url,
        notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }),
      );
      expect(response.status).toBe(202);
      // The build page in the browser from the start: the timeline as it grows.
      const page = browser?.page;
      const seen: number[] = [];
      let watching = Boolean(page);
      const watched = (async () => {
        if (!page) return;
        await until(() => server.store.getBuild(1) !== undefined, 10_000, "build #1 recorded");
        await page.goto(`${server.url}/builds/1`);
        while (watching) {
          // (A failed check elsewhere may close the page: the watch just ends.)
          const done = (await bars(page).catch(() => ((watching = false), []))).filter((b) => b.ms !== "").length;
          if (seen.at(-1) !== done) seen.push(done);
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      // The dashboard's console image while QEMU runs: 404 until the VM is up, then a real PNG.
      let console_: Buffer | undefined;
      while (!console_ && !finished(1)) {
        const shot = await fetch(`${server.url}/builds/1/screenshot.png`);
        if (shot.status === 200) {
          expect(shot.headers.get("content-type")).toBe("image/png");
          console_ = Buffer.from(await shot.arrayBuffer());
        } else {
          expect(shot.status).toBe(404);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      expect(console_, "a screenshot while the build ran").toBeDefined();
      const size = pngSize(console_!);
      expect(size.width).toBeGreaterThan(0);
      expect(size.height).toBeGreaterThan(0);
      await until(() => finished(1), 25 * 60_000, "build finished");
      await server.service.idle();
      const build = server.store.getBuild(1)!;
      expect(build.reason).toBeNull();
      expect(build.state).toBe("success");
      expect(
        gitlab.statuses.filter((s) => s.sha === repo.sha && s.name === "tsimg/tinyos").map((s) => s.state),
      ).toEqual(["pending", "running", "success"]);
      expect(gitlab.emojis).toEqual([{ noteId: 1001, name: "eyes" }]);
      expect(gitlab.notes).toHaveLength(1);
      const note = gitlab.notes[0]!;
      expect(note.edits.length).toBeGreaterThan(0);
      expect(note.body).toMatch(/`[0-9a-f]{64}`/);
      expect(note.body).toContain(build.artifacts[0]!.sha256!);
      expect(note.body).toMatch(/\| tinyos \| :white_check_mark: success \| \d+ (min \d\d )?s \|/);
      expect(note.body).not.toContain("tsimg-example"); // the template's sensitive root password
      // Issue 15: the first build of the image for this target branch has nothing to compare with, and says so.
      expect(note.body).toContain("<details><summary>What changes in the image: tinyos</summary>");
      expect(note.body).toContain("No earlier successful build of tinyos for the target branch is recorded");
      // A build that succeeded has no console to show any more.
      expect((await fetch(`${server.url}/builds/1/screenshot.png`)).status).toBe(404);

      if (!page) return;
      await page.waitForFunction(() => document.querySelector("#meta dd.success") !== null, undefined, {
        timeout: 15_000,
      });
      const summary = stepEnds(1);
      await expect.poll(async () => (await bars(page)).filter((b) => b.ms !== "").length).toBe(summary.length);
      watching = false;
      await watched;
      // It grew step by step while the build ran: the finished bars were counted at several sizes, never fewer.
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      // And it ends with exactly the durations of the build's steps, in their order.
      expect((await bars(page)).map((b) => ({ step: b.step, ms: Number(b.ms) }))).toEqual(summary);
      const labels = await page.$$eval("#timeline g.step text.ms", (ts) => ts.map((t) => t.textContent));
      expect(labels).toEqual(summary.map((s) => `${(s.ms / 1000).toFixed(1)} s`));

      // The filters: serial lines hidden and shown again, the steps' lines untouched.
      const serial = await visibleLines(page, "serial");
      const steps = await visibleLines(page, "step");
      expect(serial).toBeGreaterThan(10);
      await page.uncheck("#log-filters input[name=serial]");
      expect([await visibleLines(page, "serial"), await visibleLines(page, "step")]).toEqual([0, steps]);
      await page.check("#log-filters input[name=serial]");
      expect(await visibleLines(page, "serial")).toBe(serial);

      // Links back to GitLab: project path, MR, commit, the comment that asked, who asked.
      const href = (name: string) => page.getAttribute(`#gitlab a[data-link=${name}]`, "href");
      const project = `${gitlab.url}/infra/images`;
      expect(await page.textContent("#gitlab a[data-link=project]")).toBe("infra/images");
      expect(await href("project")).toBe(project);
      expect(await href("mr")).toBe(`${project}/-/merge_requests/3`);
      expect(await href("commit")).toBe(`${project}/-/commit/${repo.sha}`);
      expect(await href("comment")).toBe(`${project}/-/merge_requests/3#note_1001`);
      expect(await href("requester")).toBe(`${gitlab.url}/user1`);
      expect(await page.textContent("#title")).toBe("Build #1: tinyos 1.0.0");
      await shot(page, "build-page.png");
      if (shots) {
        await page.setViewportSize({ width: 390, height: 844 });
        await shot(page, "build-page-phone.png");
        await page.setViewportSize({ width: 1280, height: 900 });
      }
    },
    30 * 60_000,
  );

  it.runIf(runBrowserTests)(
    "a second build of tinyos (version 1.1.0): the images page shows both builds, the latest version and a two-point sparkline; the history charts two points",
    async () => {
      const template = readFileSync(join(repo.dir, "images/tinyos.toml"), "utf8");
      const sha = repo.commit("images/tinyos.toml", template.replace('version = "1.0.0"', 'version = "1.1.0"'));
      gitlab.mrs.set(3, { state: "opened", sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
      expect(
        (await deliver(server.url, notePayload({ note: "/tsimg build tinyos", noteId: 1002, repo: repo.dir, sha })))
          .status,
      ).toBe(202);
      await until(() => finished(2), 25 * 60_000, "second build finished");
      expect(server.store.getBuild(2)?.state).toBe("success");
      // Issue 14: serve's builds share one layer cache, so this build of the same MR continued
      // from build #1's layers (the version is not an input of any layer) without reinstalling.
      const log2 = readFileSync(join(config.stateDir, "logs", "2.log"), "utf8");
      expect(log2).toMatch(/layer cache: continuing from layer 1, saved .* ago/);
      expect(log2).not.toMatch(/typing \d+ keys/);
      // Issue 15: the second build's note compares its image with build #1's (its SBOM): the same packages.
      await server.service.idle();
      const second = gitlab.notes.at(-1)!.body;
      expect(second).toContain("<details><summary>What changes in the image: tinyos</summary>");
      expect(second).toContain("Compared with build #1");
      expect(second).toContain("No differences");
      const page = browser!.page;
      const durations = [1, 2].map((id) => {
        const b = server.store.getBuild(id)!;
        return b.finishedAt! - b.startedAt!;
      });

      await page.goto(`${server.url}/images`);
      const row = page.locator('#images tbody tr[data-image="tinyos"]');
      await row.waitFor({ timeout: 10_000 });
      expect(await row.locator("td.version").textContent()).toBe("1.1.0");
      expect(await row.locator("td.num").textContent()).toBe("2");
      expect(await row.locator("td.result").textContent()).toContain("success (#2)");
      expect(await row.locator("svg.spark circle.point").count()).toBe(2);
      await shot(page, "images-page.png");

      await page.click('#images a[href="/images/tinyos"]');
      await page.waitForSelector("#chart svg circle.point");
      const points = await page.$$eval("#chart svg circle.point", (cs) =>
        cs.map((c) => Number(c.getAttribute("data-ms"))),
      );
      expect(points).toEqual(durations);
      const history = await page.$$eval("#history tbody tr", (rows) =>
        rows.map((r) => [r.querySelector("td.version")!.textContent, r.querySelector("td.duration")!.textContent]),
      );
      const shown = (ms: number) => {
        const s = Math.round(ms / 1000);
        return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
      };
      expect(history).toEqual([
        ["1.1.0", shown(durations[1]!)],
        ["1.0.0", shown(durations[0]!)],
      ]);
      await shot(page, "image-history.png");
    },
    30 * 60_000,
  );
});
