// The dashboard's HTTP surface, against a real serve: who may read it, the headers every
// answer carries, paths outside the pages, the SSE encoding and replay, masking of what it
// shows, and the cap on a build's log.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseServeConfig, type ServeConfig } from "../../src/serve/config.js";
import { LogStore, truncationMarker } from "../../src/serve/logs.js";
import { Pacer } from "../../src/serve/pacer.js";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import { sseMessage } from "../../src/serve/sse.js";
import type { BuildFunction } from "../../src/serve/runner.js";
import {
  deliver,
  fakeBuild,
  GitLabStandIn,
  makeRepo,
  notePayload,
  PROJECT_ID,
  SECRET,
  testConfig,
  TOKEN,
  until,
} from "./helpers.js";

const DASHBOARD_TOKEN = "dash-token-1234";
const WITH_TOKEN = {
  dashboardOpen: false,
  secrets: { gitlabToken: TOKEN, webhookSecret: SECRET, dashboardToken: DASHBOARD_TOKEN },
};

let gitlab: GitLabStandIn;
let server: RunningServer | undefined;
let repo: ReturnType<typeof makeRepo>;
let errors: unknown[];
let stateDir: string;

beforeEach(async () => {
  gitlab = await new GitLabStandIn().start();
  repo = makeRepo();
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
  errors = [];
  stateDir = mkdtempSync(join(tmpdir(), "tsimg-serve-state-"));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await gitlab.close();
});

async function start(extra: Partial<ServeConfig> = {}, build: BuildFunction = fakeBuild()): Promise<RunningServer> {
  server = await startServer(testConfig(gitlab.url, stateDir, extra), {
    buildFunction: build,
    onError: (e) => errors.push(e),
  });
  return server;
}

/** Runs one build to its end with the given build function. */
async function oneBuild(build: BuildFunction, extra: Partial<ServeConfig> = {}): Promise<RunningServer> {
  const s = await start(extra, build);
  await deliver(s.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
  await until(() => ["success", "failed"].includes(s.store.getBuild(1)?.state ?? ""), 10_000, "the build's end");
  await s.service.idle();
  return s;
}

/** A GET with the path sent exactly as given (fetch would normalise `..` away). */
function rawGet(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    request({ host: hostname, port, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .once("error", reject)
      .end();
  });
}

/** An event stream parsed as the HTML standard says: any of \r\n, \r, \n ends a line. */
function parseSse(text: string): { id?: string; event?: string; data: string }[] {
  const events: { id?: string; event?: string; data: string }[] = [];
  let current: { id?: string; event?: string; data?: string } = {};
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (current.data !== undefined) events.push({ ...current, data: current.data });
      current = {};
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") current.data = current.data === undefined ? value : `${current.data}\n${value}`;
    if (field === "id") current.id = value;
    if (field === "event") current.event = value;
  }
  return events;
}

describe("who may read the dashboard", () => {
  it("nobody, when there is no token and it is not explicitly open", async () => {
    const s = await start({ dashboardOpen: false });
    for (const path of ["/", "/api/builds", "/builds/1", "/builds/1/log", "/builds/1/events", "/style.css"]) {
      const r = await rawGet(s.url, path);
      expect([path, r.status, r.body]).toEqual([
        path,
        401,
        JSON.stringify({ error: "the dashboard is closed: no dashboard token is set" }),
      ]);
    }
  });

  it.each([
    { what: "no credentials", headers: {}, status: 401 },
    { what: "a wrong bearer token", headers: { Authorization: "Bearer dash-token-1235" }, status: 401 },
    {
      what: "a wrong basic password",
      headers: { Authorization: `Basic ${Buffer.from(`me:${DASHBOARD_TOKEN}x`).toString("base64")}` },
      status: 401,
    },
    {
      what: "the token as basic user name, not password",
      headers: { Authorization: `Basic ${Buffer.from(`${DASHBOARD_TOKEN}:`).toString("base64")}` },
      status: 401,
    },
    { what: "an empty bearer token", headers: { Authorization: "Bearer " }, status: 401 },
    { what: "the right bearer token", headers: { Authorization: `Bearer ${DASHBOARD_TOKEN}` }, status: 200 },
    {
      what: "the right basic password",
      headers: { Authorization: `Basic ${Buffer.from(`me:${DASHBOARD_TOKEN}`).toString("base64")}` },
      status: 200,
    },
  ])("with a token set, $what gets $status on every page", async ({ headers, status }) => {
    const s = await oneBuild(fakeBuild(), WITH_TOKEN);
    for (const path of [
      "/",
      "/api/builds",
      "/api/builds/1",
      "/builds/1",
      "/builds/1/log",
      "/builds/1/events",
      "/style.css",
    ]) {
      const r = await rawGet(s.url, path, headers);
      expect([path, r.status]).toEqual([path, status]);
      if (status === 401) {
        expect(JSON.parse(r.body)).toEqual({ error: "authentication required" });
        expect(r.headers["www-authenticate"]).toBe('Basic realm="tsimg"');
      }
    }
  });

  it("serve.toml: a token is required unless dashboard_open = true; the token comes from a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-dash-secrets-"));
    const file = (name: string, value: string) => {
      writeFileSync(join(dir, name), `${value}\n`);
      chmodSync(join(dir, name), 0o600);
      return join(dir, name);
    };
    const env = { TSIMG_GITLAB_TOKEN_FILE: file("gitlab", TOKEN), TSIMG_WEBHOOK_SECRET_FILE: file("webhook", SECRET) };
    const raw = { gitlab_url: "https://gitlab.example.com", allowed_projects: [7] };
    expect(() => parseServeConfig(raw, "/srv", env)).toThrow(
      '1 error in serve.toml:\n  the dashboard needs a token: put it in a file and set TSIMG_DASHBOARD_TOKEN_FILE (or the systemd credential "dashboard-token"), or set dashboard_open = true in serve.toml to let anyone who reaches "listen" read it',
    );
    const withToken = parseServeConfig(raw, "/srv", {
      ...env,
      TSIMG_DASHBOARD_TOKEN_FILE: file("dashboard", DASHBOARD_TOKEN),
    });
    expect([withToken.dashboardOpen, withToken.secrets.dashboardToken]).toEqual([false, DASHBOARD_TOKEN]);
    const open = parseServeConfig({ ...raw, dashboard_open: true }, "/srv", env);
    expect([open.dashboardOpen, open.secrets.dashboardToken]).toEqual([true, undefined]);
    expect(() =>
      parseServeConfig({ ...raw, dashboard_open: true }, "/srv", {
        ...env,
        TSIMG_DASHBOARD_TOKEN_FILE: join(dir, "dashboard"),
      }),
    ).toThrow("1 error in serve.toml:\n  dashboard_open = true and TSIMG_DASHBOARD_TOKEN are both set: remove one");
  });
});

describe("headers and paths", () => {
  it("every answer carries the CSP (frame-ancestors 'none') and nosniff: pages, JSON, errors, the live log and the webhook", async () => {
    const s = await oneBuild(fakeBuild(), WITH_TOKEN);
    const auth = { Authorization: `Bearer ${DASHBOARD_TOKEN}` };
    const answers = [
      ["page", await rawGet(s.url, "/", auth), 200],
      ["build page", await rawGet(s.url, "/builds/1", auth), 200],
      ["JSON", await rawGet(s.url, "/api/builds/1", auth), 200],
      ["log", await rawGet(s.url, "/builds/1/log", auth), 200],
      ["event stream", await rawGet(s.url, "/builds/1/events", auth), 200],
      ["no such build", await rawGet(s.url, "/api/builds/99", auth), 404],
      ["no such page", await rawGet(s.url, "/nothing-here", auth), 404],
      ["no token", await rawGet(s.url, "/"), 401],
      ["webhook without token", await rawGet(s.url, "/hooks/gitlab"), 405],
    ] as const;
    for (const [what, r, status] of answers) {
      expect([what, r.status]).toEqual([what, status]);
      expect([what, r.headers["content-security-policy"]]).toEqual([
        what,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      ]);
      expect([what, r.headers["x-content-type-options"], r.headers["x-frame-options"]]).toEqual([
        what,
        "nosniff",
        "DENY",
      ]);
    }
    const webhook = await deliver(s.url, { object_kind: "push" }, { event: "Push Hook" });
    expect(webhook.status).toBe(202);
  });

  it.each([
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
    "/style.css%00.html",
    "/%E0%A4%A",
    "/builds/1/..%2f..%2f..%2fetc%2fpasswd",
  ])("%s is a quiet 404, while the pages themselves are served", async (path) => {
    const s = await start();
    const r = await rawGet(s.url, path);
    expect([r.status, r.body]).toEqual([404, JSON.stringify({ error: "not found" })]);
    expect(errors).toEqual([]);
    // The same server serves what is really there.
    const css = await rawGet(s.url, "/style.css");
    expect([css.status, css.headers["content-type"], css.body]).toEqual([
      200,
      "text/css; charset=utf-8",
      readFileSync(new URL("../../src/serve/public/style.css", import.meta.url), "utf8"),
    ]);
    // The list page: index.html, rendered with its data (dashboard-pages.ts).
    const index = await rawGet(s.url, "/");
    expect([index.status, index.headers["content-type"]]).toEqual([200, "text/html; charset=utf-8"]);
    expect(index.body).toContain("<h1>tsimg builds</h1>");
    expect(index.body).toContain(
      '<script type="application/json" id="initial-data">{"builds":[],"total":0,"images":[]}',
    );
  });
});

describe("the live log", () => {
  it("sseMessage gives every part of the data its own data: line, and keeps id and event to one line", () => {
    expect(sseMessage({ id: 3, data: "a\rb\r\nc\nd" })).toBe("id: 3\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
    expect(sseMessage({ event: "state\rid: 9", id: "1\n2", data: "" })).toBe("id: 1 2\nevent: state id: 9\ndata: \n\n");
  });

  it("a lone \\r in a log line cannot forge an event, an id or a state", async () => {
    const forged = 'setup\revent: state\rdata: {"state":"success"}\rid: 999\r\rretry: 1';
    const s = await oneBuild(async (input) => {
      input.onEvent({ build: "tinyos", time: Date.now(), type: "log", level: "info", message: forged });
      input.onEvent({ build: "tinyos", time: Date.now(), type: "log", level: "info", message: "after" });
      return { ok: false, cancelled: false, error: "stop here", artifacts: [] };
    });
    const text = (await rawGet(s.url, "/builds/1/events")).body;
    const events = parseSse(text);
    // One message per log line, numbered in order, and exactly one state: the real one.
    const lines = events.filter((e) => e.event === undefined);
    expect(lines.map((e) => e.id)).toEqual(lines.map((_, i) => String(i + 1)));
    expect(events.filter((e) => e.event !== undefined)).toEqual([{ event: "state", data: '{"state":"failed"}' }]);
    // Each message is one event as JSON, on one data: line (JSON escapes \r): the browser gets the line as printed.
    expect(text).not.toMatch(/^data: (event|id|retry)/m);
    expect(lines.map((e) => JSON.parse(e.data).message)).toContain(forged);
    expect(JSON.parse(lines.at(-1)!.data).message).toBe("failed: stop here");
  });

  it("the pacer runs at most its budget of work per turn of the event loop, and at least one piece", async () => {
    let clock = 0;
    const pacer = new Pacer(4, () => clock);
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn += 1;
      if (ticking) setImmediate(tick);
    };
    tick();
    // Four 1 ms pieces fill the first turn; a 10 ms piece (over the budget) still runs, and ends the second; the rest run in the third.
    const costs = [1, 1, 1, 1, 1, 1, 10, 1, 1, 1, 1];
    const turns = await Promise.all(costs.map((ms) => pacer.run(() => ((clock += ms), turn))));
    ticking = false;
    const first = turns[0]!;
    expect(turns.map((t) => t - first)).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
  });

  it("replays a 60,000-line log in order, in chunks with turns of the event loop between them", async () => {
    const s = await oneBuild(fakeBuild({ lines: 60_000 }));
    // A ticker on this event loop (serve's too): it counts the turns taken while the replay runs.
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns += 1;
      if (ticking) setImmediate(tick);
    };
    tick();
    // The stream reads the build when it starts, and its state when the replay is done.
    const seen: number[] = [];
    const getBuild = s.store.getBuild.bind(s.store);
    s.store.getBuild = (id) => (seen.push(turns), getBuild(id));
    const text = (await rawGet(s.url, "/builds/1/events")).body;
    ticking = false;
    const events = parseSse(text);
    const lines = events.filter((e) => e.event === undefined);
    expect(lines.length).toBeGreaterThan(60_000);
    expect(lines.map((e) => Number(e.id))).toEqual(lines.map((_, i) => i + 1));
    const messages = lines.map((e) => (JSON.parse(e.data) as { message?: string }).message ?? "");
    expect(messages.filter((m) => /^line \d+$/.test(m)).map((m) => Number(m.slice(5)))).toEqual(
      Array.from({ length: 60_000 }, (_, i) => i + 1),
    );
    expect(events.at(-1)).toEqual({ event: "state", data: '{"state":"success"}' });
    // Not one long task: the event loop turned many times between the start and the end of the replay.
    expect(seen.at(-1)! - seen[0]!).toBeGreaterThanOrEqual(20);
  }, 60_000);

  it("a page that stops reading is cut off once 4 MiB wait for it, and resumes from the file after Last-Event-ID", async () => {
    // About 15 MB: more than the 4 MiB plus what the sockets hold (a paused reader's receive
    // window does not grow; the sender's buffer grows to tcp_wmem's 4 MiB at most).
    const LINES = 120_000;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let printed!: () => void;
    const allPrinted = new Promise<void>((r) => (printed = r));
    let connect!: () => void;
    const connected = new Promise<void>((r) => (connect = r));
    const s = await start({ maxLogBytes: 64 * 1024 * 1024 }, async (input) => {
      input.onEvent({ build: "tinyos", time: Date.now(), type: "log", level: "info", message: "started" });
      await connected;
      for (let i = 1; i <= LINES; i++) {
        input.onEvent({
          build: "tinyos",
          time: Date.now(),
          type: "serial",
          line: `flood ${String(i).padStart(6, "0")} ${"x".repeat(100)}`,
        });
        if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
      }
      printed();
      await gate;
      return { ok: true, cancelled: false, artifacts: [] };
    });
    await deliver(s.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => s.store.getBuild(1)?.state === "running", 10_000, "running");

    // A page that reads nothing while the build prints.
    const { hostname, port } = new URL(s.url);
    const first = await new Promise<IncomingMessage>((resolve) =>
      request({ host: hostname, port, path: "/builds/1/events" }, resolve).end(),
    );
    first.pause();
    connect();
    await allPrinted;
    let text = "";
    first.setEncoding("utf8");
    first.on("data", (d: string) => (text += d));
    first.resume();
    await new Promise((r) => first.once("end", r));
    const cut = parseSse(text).filter((e) => e.event === undefined);
    // Ended by serve while the build still runs: no final state, and not every line.
    expect(parseSse(text).filter((e) => e.event === "state")).toEqual([
      { event: "state", data: '{"state":"running"}' },
    ]);
    expect(cut.map((e) => Number(e.id))).toEqual(cut.map((_, i) => i + 1));
    expect(cut.length).toBeLessThan(LINES);

    // The browser reconnects with the last id it saw: the rest comes from the file.
    release();
    const rest = parseSse((await rawGet(s.url, "/builds/1/events", { "Last-Event-ID": cut.at(-1)!.id! })).body);
    const lines = rest.filter((e) => e.event === undefined);
    expect(Number(lines[0]!.id)).toBe(cut.length + 1);
    const all = [...cut, ...lines].filter((e) => e.data.includes("flood "));
    expect(all.map((e) => Number(/flood (\d+)/.exec(e.data)![1]))).toEqual(
      Array.from({ length: LINES }, (_, i) => i + 1),
    );
    expect(rest.at(-1)).toEqual({ event: "state", data: '{"state":"success"}' });
  }, 60_000);
});

describe("secrets on the dashboard", () => {
  it("the log, the live log and the build's state show no secret: service secrets, the template's secrets, in the forms the masker knows", async () => {
    const planSecret = "plan-root-password-42";
    const s = await oneBuild(async (input) => {
      input.addSecrets([planSecret]);
      const emit = (e: Record<string, unknown>) => input.onEvent({ build: "tinyos", time: Date.now(), ...e } as never);
      emit({ type: "log", level: "info", message: `token ${TOKEN} and ${encodeURIComponent(SECRET)}` });
      emit({ type: "serial", line: `login: root password ${planSecret}` });
      emit({ type: "log", level: "info", message: `dashboard ${Buffer.from(DASHBOARD_TOKEN).toString("base64")}` });
      emit({ type: "step-start", step: "provision", title: `Provision with ${planSecret}` });
      emit({ type: "step-end", step: "provision", ms: 1, outcome: "failed" });
      return {
        ok: false,
        cancelled: false,
        error: `ssh: wrong password ${planSecret} (token ${TOKEN})`,
        artifacts: [],
      };
    }, WITH_TOKEN);
    const auth = { Authorization: `Bearer ${DASHBOARD_TOKEN}` };
    const shown = [
      (await rawGet(s.url, "/builds/1/log", auth)).body,
      (await rawGet(s.url, "/builds/1/events", auth)).body,
      (await rawGet(s.url, "/builds/1/events.ndjson", auth)).body,
      (await rawGet(s.url, "/api/builds/1", auth)).body,
      (await rawGet(s.url, "/api/builds", auth)).body,
    ];
    for (const text of shown) {
      for (const secret of [
        TOKEN,
        SECRET,
        DASHBOARD_TOKEN,
        planSecret,
        encodeURIComponent(SECRET),
        Buffer.from(DASHBOARD_TOKEN).toString("base64"),
      ])
        expect(text).not.toContain(secret);
      expect(text).toContain("<sensitive>");
    }
    expect(JSON.parse(shown[3]!).reason).toBe("ssh: wrong password <sensitive> (token <sensitive>)");
  });

  it("the stored log is the build's events as JSON lines, masked field by field, serial lines too; the plain log and a note render them as text", async () => {
    // A secret with a quote and a backslash: JSON writes it escaped, and it must be masked in that form too.
    const planSecret = 'pa"ss\\word-42';
    const s = await oneBuild(async (input) => {
      input.addSecrets([planSecret]);
      const emit = (e: Record<string, unknown>) =>
        input.onEvent({ build: "tinyos", time: Date.parse("2026-01-02T03:04:05Z"), ...e } as never);
      emit({ type: "build-start" });
      emit({ type: "step-start", step: "provision", title: "Provisioning with shell" });
      emit({ type: "serial", line: `login: root password ${planSecret}` });
      emit({ type: "output", source: "shell", stream: "stderr", line: `echo ${planSecret}`, extra: "x".repeat(100) });
      emit({ type: "screenshot", path: "/work/1/shot.png" });
      emit({ type: "step-end", step: "provision", ms: 1500, outcome: "failed" });
      return { ok: false, cancelled: false, error: "provisioning failed", artifacts: [] };
    });
    const stored = readFileSync(join(stateDir, "logs", "1.log"), "utf8");
    for (const form of [planSecret, JSON.stringify(planSecret).slice(1, -1), TOKEN]) expect(stored).not.toContain(form);
    const events = stored
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.type)).toEqual([
      "log",
      "build-start",
      "step-start",
      "serial",
      "output",
      "step-end",
      "log",
    ]);
    expect(events[0]).toMatchObject({ type: "log", level: "info", build: "tinyos" });
    expect(events[3]).toEqual({
      type: "serial",
      build: "tinyos",
      time: Date.parse("2026-01-02T03:04:05Z"),
      line: "login: root password <sensitive>",
    });
    // Only the fields its type has (a build process's extra field is dropped; screenshots are not kept).
    expect(Object.keys(events[4]!).sort()).toEqual(["build", "line", "source", "stream", "time", "type"]);
    expect(events.at(-1)).toMatchObject({ type: "log", message: "failed: provisioning failed" });

    // The build page's first load: the same events, one JSON line each, as stored.
    expect((await rawGet(s.url, "/builds/1/events.ndjson")).body).toBe(stored);
    const text = (await rawGet(s.url, "/builds/1/log")).body.split("\n");
    expect(text.slice(1)).toEqual([
      "03:04:05 build started",
      "03:04:05 ==> Provisioning with shell",
      "03:04:05 [serial] login: root password <sensitive>",
      "03:04:05 [shell stderr] echo <sensitive>",
      "03:04:05 <== provision failed (1.5 s)",
      expect.stringMatching(/^\d\d:\d\d:\d\d failed: provisioning failed$/),
    ]);
    await s.service.idle();
    const note = gitlab.notes.at(-1)!.body;
    expect(note).toContain(
      "03:04:05 [serial] login: root password <sensitive>\n03:04:05 [shell stderr] echo <sensitive>",
    );
    expect(note).not.toContain('"type"');
  });

  it("a log line that escaped masking when written (an older log) is masked when served", async () => {
    await (await oneBuild(fakeBuild())).close();
    // As a log written before a secret was known (or by an older tsimg) would hold it.
    writeFileSync(join(stateDir, "logs", "1.log"), `leaked ${TOKEN}\nwebhook ${SECRET}\n`, { flag: "a" });
    const s = await start();
    const texts = [(await rawGet(s.url, "/builds/1/log")).body, (await rawGet(s.url, "/builds/1/events")).body];
    for (const text of texts) {
      expect(text).toContain("leaked <sensitive>");
      expect(text).toContain("webhook <sensitive>");
      expect(text).not.toContain(TOKEN);
    }
  });
});

describe("the log's size cap", () => {
  it("a log stops at max bytes with a marker event; followers get the marker; a restart adds no second marker", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-logs-"));
    const logs = new LogStore(dir, 1000);
    const followed: string[] = [];
    logs.follow(1, (e) => e.kind === "line" && followed.push(e.text));
    const message = (i: number) => `line ${String(i).padStart(3, "0")} ${"x".repeat(40)}`;
    for (let i = 1; i <= 200; i++)
      logs.append(1, { build: "tinyos", time: 0, type: "log", level: "info", message: message(i) });
    logs.flush();
    const text = readFileSync(join(dir, "1.log"), "utf8");
    const events = text
      .split("\n")
      .slice(0, -1)
      .map((l) => JSON.parse(l) as { type: string; level: string; message: string });
    expect(events.at(-1)).toEqual({
      type: "log",
      build: "tinyos",
      time: 0,
      level: "warn",
      message: truncationMarker(1000),
    });
    expect(truncationMarker(1000)).toBe(
      "[tsimg: log truncated: it reached 1000 bytes (max_log_size in serve.toml); later lines are not kept]",
    );
    expect(events.slice(0, -1).map((e) => e.message)).toEqual(events.slice(0, -1).map((_, i) => message(i + 1)));
    const markerBytes = Buffer.byteLength(text.split("\n").at(-2)!) + 1;
    expect(Buffer.byteLength(text) - markerBytes).toBeLessThanOrEqual(1000);
    expect(followed).toEqual(text.split("\n").slice(0, -1));
    expect(logs.append(1, { build: "tinyos", time: 0, type: "serial", line: "more" })).toBe(events.length);
    expect(logs.tail(1, 1)).toEqual([`warn: ${truncationMarker(1000)}`]);

    const again = new LogStore(dir, 1000);
    again.append(1, { build: "tinyos", time: 0, type: "serial", line: "after a restart" });
    again.flush();
    expect(readFileSync(join(dir, "1.log"), "utf8")).toBe(text);
  });

  it("max_log_size from serve.toml caps a build that prints 60,000 lines; the dashboard shows the marker last", async () => {
    const s = await oneBuild(fakeBuild({ lines: 60_000 }), { maxLogBytes: 64 * 1024 });
    const log = (await rawGet(s.url, "/builds/1/log")).body;
    expect(log.split("\n").at(-1)).toMatch(
      /^\d\d:\d\d:\d\d warn: \[tsimg: log truncated: it reached 64 KiB \(max_log_size in serve.toml\); later lines are not kept\]$/,
    );
    // The cap counts the stored events; the text rendered from them is shorter than their JSON.
    expect(statSync(join(stateDir, "logs", "1.log")).size).toBeLessThan(64 * 1024 + 300);
    expect(Buffer.byteLength(log)).toBeLessThan(64 * 1024);
    expect(s.store.getBuild(1)?.state).toBe("success");
    const parsed = parseServeConfig(
      { gitlab_url: "https://gitlab.example.com", allowed_projects: [7], dashboard_open: true, max_log_size: "512K" },
      "/srv",
      secretEnv(),
    );
    expect(parsed.maxLogBytes).toBe(512 * 1024);
    expect(() =>
      parseServeConfig(
        { gitlab_url: "https://gitlab.example.com", allowed_projects: [7], dashboard_open: true, max_log_size: "lots" },
        "/srv",
        secretEnv(),
      ),
    ).toThrow(
      '1 error in serve.toml:\n  expected "max_log_size" to be a size like "10M" or "512K" (at least 64K), got "lots" (string)',
    );
  }, 30_000);
});

/** The two required secrets, in files as serve wants them. */
function secretEnv(): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-secrets-"));
  mkdirSync(dir, { recursive: true });
  const file = (name: string, value: string) => {
    writeFileSync(join(dir, name), value, { mode: 0o600 });
    return join(dir, name);
  };
  return { TSIMG_GITLAB_TOKEN_FILE: file("gitlab", TOKEN), TSIMG_WEBHOOK_SECRET_FILE: file("webhook", SECRET) };
}
