// How fast the dashboard answers with 10,000 builds in serve's database (issue 18: every
// page under 200 ms). It fills a fresh state dir with BENCH_BUILDS builds of 12 images over
// 40 MRs and 8 requesters (one in seven failed, versions, project paths, one build with a
// 5,000-event log), starts serve on it, and measures:
//   - each API the pages call: BENCH_REPEAT requests, p50 / p95 / max;
//   - each page in Debian's chromium (playwright-core): from navigation to its data drawn
//     (the rows, the chart, or the timeline and the log's last line), median of 5 loads; the
//     first of the 5 loads has nothing cached, the others have the page's scripts and style.
// Prints numbers; asserts nothing. Run with: npm run bench:dashboard
/* global window, document, location, MutationObserver -- the functions run in the browser */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { LogStore } from "../src/serve/logs.ts";
import { startServer } from "../src/serve/server.ts";
import { Store } from "../src/serve/store.ts";

const BUILDS = Number(process.env.BENCH_BUILDS ?? 10_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 50);
const IMAGES = Array.from({ length: 12 }, (_, i) => (i === 0 ? "tinyos" : `image-${String(i).padStart(2, "0")}`));
const LOG_EVENTS = 5_000;

/** Fills the database as months of builds would: each build created, started and finished a few minutes apart. */
function fill(stateDir) {
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const store = new Store(stateDir, () => clock);
  store.queries.rememberProject(7, "infra/images");
  const t0 = performance.now();
  for (let i = 0; i < BUILDS; i++) {
    const image = IMAGES[i % IMAGES.length];
    const request = store.addRequest({
      projectId: 7,
      mrIid: 1 + (i % 40),
      noteId: 1000 + i,
      requestedBy: `user${i % 8}`,
    });
    const build = store.addBuild({
      requestId: request.id,
      projectId: 7,
      mrIid: request.mrIid,
      image,
      sha: (i.toString(16) + "a".repeat(40)).slice(0, 40),
      repoUrl: "https://gitlab.example.com/infra/images.git",
      requestedBy: request.requestedBy,
    });
    clock += 60_000;
    store.markRunning(build.id, join(stateDir, "work", String(build.id)));
    store.queries.setVersion(build.id, `1.${Math.floor(i / IMAGES.length / 50)}.${((i / IMAGES.length) % 50) | 0}`);
    clock += 30_000 + (i % 17) * 1_000;
    // About one in seven fails, spread over every image.
    const state = i % 7 === 3 ? "failed" : "success";
    store.finish(
      build.id,
      state,
      state === "failed"
        ? { reason: "ssh: handshake failed", failingStep: "wait-ssh" }
        : {
            artifacts: [{ file: "output/x.qcow2", size: 512 << 20, sha256: "b".repeat(64) }],
          },
    );
  }
  const ms = performance.now() - t0;
  store.close();
  return ms;
}

/** A long build's log: steps, serial lines and provisioner output. */
function fillLog(stateDir, id) {
  const logs = new LogStore(join(stateDir, "logs"));
  let time = Date.parse("2026-01-01T00:00:00Z");
  const emit = (e) => logs.append(id, { build: "tinyos", time: (time += 5), ...e });
  emit({ type: "build-start", version: "1.0.0" });
  for (let s = 0; s < 10; s++) {
    emit({ type: "step-start", step: `step-${s}`, title: `Step ${s}` });
    for (let i = 0; i < LOG_EVENTS / 10 - 2; i++)
      emit(
        i % 2
          ? { type: "serial", line: `[ ${i}.000] kernel line ${i}` }
          : { type: "output", source: "shell", stream: "stdout", line: `line ${i}` },
      );
    emit({ type: "step-end", step: `step-${s}`, ms: 2_000 + s * 100, outcome: "ok" });
  }
  emit({ type: "build-end", ok: true, ms: 30_000 });
  logs.flush();
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p95: at(0.95), max: sorted.at(-1) };
}

const fmt = (ms) => `${ms.toFixed(1)} ms`;

async function main() {
  const stateDir = mkdtempSync(join(tmpdir(), "tsimg-bench-dashboard-"));
  const fillMs = fill(stateDir);
  const logged = BUILDS - 1;
  fillLog(stateDir, logged);
  const server = await startServer(
    {
      host: "127.0.0.1",
      port: 0,
      publicUrl: "https://tsimg.example.com",
      gitlabUrl: "https://gitlab.example.com",
      allowedProjects: ["7"],
      minAccessLevel: 30,
      imagesDir: "images",
      stateDir,
      concurrency: 1,
      allowForks: false,
      autobuild: false,
      dashboardOpen: true,
      maxLogBytes: 64 << 20,
      secrets: { gitlabToken: "glpat-bench-token-000", webhookSecret: "bench-webhook-secret" },
    },
    { onError: (e) => console.error(e) },
  );
  console.log(
    `dashboard bench: ${BUILDS} builds of ${IMAGES.length} images (filled in ${(fillMs / 1000).toFixed(1)} s), build #${logged} has a ${LOG_EVENTS}-event log`,
  );
  console.log(`node ${process.version}; ${REPEAT} requests per API, then 5 page loads each in chromium\n`);

  const apis = [
    ["build list, page 1", "/api/builds?per_page=50"],
    ["build list, page 100", "/api/builds?per_page=50&page=100"],
    ["build list, image + state filter", "/api/builds?per_page=50&image=image-03&state=failed"],
    ["build list, requester + MR filter", "/api/builds?per_page=50&requester=user3&mr=11"],
    ["one build", `/api/builds/${logged}`],
    ["images", "/api/images"],
    ["one image's history", "/api/images/tinyos"],
    ["plain log (5,000 events)", `/builds/${logged}/log`],
    ["events so far (5,000)", `/builds/${logged}/events.ndjson`],
    ["build list page, HTML with its data", "/"],
    ["image history page, HTML with its data", "/images/tinyos"],
    ["build page, HTML with its data", `/builds/${logged}`],
  ];
  console.log("| API | p50 | p95 | max |\n|---|---|---|---|");
  for (const [name, path] of apis) {
    const samples = [];
    for (let i = 0; i < REPEAT; i++) {
      const t = performance.now();
      const response = await fetch(server.url + path);
      await response.arrayBuffer();
      samples.push(performance.now() - t);
    }
    const s = stats(samples);
    console.log(`| ${name} \`${path}\` | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.max)} |`);
  }

  const context = await chromium.launchPersistentContext(join(stateDir, "profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // What "drawn" means on each page: every [selector, text] is there (and holds the text).
  // The build page is drawn when its timeline has the tenth step's bar and the log shows its
  // last line; "whole log" also waits for the 5,000 lines above it (drawn after the tail).
  const pages = [
    ["build list", "/", [["#builds tbody tr"]]],
    ["build list, filtered", "/?image=image-03&state=failed", [["#builds tbody tr"]]],
    ["images", "/images", [["#images tbody tr svg.spark"]]],
    ["image history", "/images/tinyos", [["#chart svg circle.point"]]],
    [
      "build page (5,000-event log)",
      `/builds/${logged}`,
      [["#timeline svg g.step:nth-of-type(10)"], ["#log", "build succeeded"]],
      [["#log:not([data-pending]) .line"], ["#log", "build succeeded"]],
    ],
  ];
  // The page itself notes when its data is drawn (a MutationObserver from before its first
  // script): performance.now() there is milliseconds since the navigation started, the time a
  // reader waits, without the test driver's round trips.
  await context.addInitScript(
    (specs) => {
      const spec = specs[location.pathname + location.search];
      if (!spec) return;
      const there = (checks) =>
        checks.every(([selector, text]) => {
          const el = document.querySelector(selector);
          return el !== null && (text === undefined || el.textContent.includes(text));
        });
      new MutationObserver((_, observer) => {
        if (window.benchDrawn === undefined && there(spec.drawn)) window.benchDrawn = performance.now();
        if (window.benchDrawn !== undefined && (!spec.whole || there(spec.whole))) {
          window.benchWhole = performance.now();
          observer.disconnect();
        }
      }).observe(document, { subtree: true, childList: true, attributes: true });
    },
    Object.fromEntries(pages.map(([, path, drawn, whole]) => [path, { drawn, whole }])),
  );
  // The browser shows one page of serve's first (a 404, sharing nothing with the dashboard's
  // pages) and is left 2 s to finish starting (a fresh profile's first seconds), so the first
  // page measured does not also pay for the browser's own start: its renderer, fonts, caches.
  // Each page's first load still has nothing of that page cached.
  await page.goto(`${server.url}/nothing-here`);
  await page.waitForTimeout(2000);
  console.log("\n| page | navigation to data drawn: median of 5 | slowest |\n|---|---|---|");
  for (const [name, path, , whole] of pages) {
    const samples = [];
    const wholes = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(server.url + path, { waitUntil: "commit" });
      await page.waitForFunction(() => window.benchWhole !== undefined, undefined, { timeout: 30_000 });
      samples.push(await page.evaluate(() => window.benchDrawn));
      wholes.push(await page.evaluate(() => window.benchWhole));
    }
    const s = stats(samples);
    if (process.env.BENCH_SAMPLES) console.log(samples.map((x) => x.toFixed(0)).join(" "));
    console.log(`| ${name} \`${path}\` | ${fmt(s.p50)} | ${fmt(s.max)} |`);
    if (whole) console.log(`| ${name}, whole log drawn | ${fmt(stats(wholes).p50)} | ${fmt(stats(wholes).max)} |`);
  }
  await context.close();
  await server.close();
  rmSync(stateDir, { recursive: true, force: true });
}

await main();
