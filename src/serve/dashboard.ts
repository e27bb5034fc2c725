// The read-only dashboard: JSON for the build list (filters, pages) and a build, the log
// rendered as text, and the live log (the build's events, as JSON) over Server-Sent Events
// (sse.ts). The images pages are dashboard-images.ts; the pages are files in ./public, which
// dashboard-pages.ts renders with their first view's data (the list, the build).
// Everything it serves passes through the service's masker once more: logs are masked when
// written, and this second pass catches a line that was not (an older log, a rotated secret).
import type { Middleware } from "koa";
import { Readable } from "node:stream";
import type { Masker } from "../index.js";
import type { LogLine, LogStore } from "./logs.js";
import type { Pacer } from "./pacer.js";
import { streamLog } from "./sse.js";
import { readableLines, renderLine } from "./event-log.js";
import type { BuildFilter } from "./build-queries.js";
import type { DashboardPages } from "./dashboard-pages.js";
import { buildView, dashboardBuild, type ViewContext } from "./dashboard-views.js";
import type { Store } from "./store.js";
import { secretMatches } from "./webhook.js";

/** An error a client may see: status and message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Who may read the dashboard: holders of the token (no one when there is none), or anyone when it is explicitly open. */
export type DashboardAccess = { token: string | undefined } | { open: true };

/** Bearer token or basic auth (any user name, the token as password); nothing only when the dashboard is explicitly open. */
export function dashboardAuth(access: DashboardAccess): Middleware {
  return async (ctx, next) => {
    if ("open" in access) return next();
    const token = access.token;
    // No token and not explicitly open: closed to everyone (loadServeConfig refuses this; a library caller may not).
    if (token === undefined) throw new HttpError(401, "the dashboard is closed: no dashboard token is set");
    const header = ctx.get("Authorization");
    const bearer = /^Bearer (.+)$/i.exec(header)?.[1];
    const basic = /^Basic (.+)$/i.exec(header)?.[1];
    const password =
      basic === undefined ? undefined : Buffer.from(basic, "base64").toString("utf8").split(":").slice(1).join(":");
    if (secretMatches(bearer ?? password, token)) return next();
    ctx.set("WWW-Authenticate", 'Basic realm="tsimg"');
    throw new HttpError(401, "authentication required");
  };
}

/** What the dashboard's routes read. */
export interface DashboardDeps {
  store: Store;
  logs: LogStore;
  now: () => number;
  masker: Masker;
  screenshot: (id: number) => Promise<Buffer | undefined>;
  /** Paces the log replays (pacer.ts). */
  pacer: Pacer;
  /** GitLab's address, for the links back to merge requests, commits and comments. */
  gitlabUrl: string;
  /** The HTML pages, rendered with their first view's data. */
  pages: DashboardPages;
}

/** Routes of the dashboard API. */
export function dashboardApi(deps: DashboardDeps): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== "GET" && ctx.method !== "HEAD") return next();
    const view: ViewContext = {
      now: deps.now(),
      masker: deps.masker,
      gitlabUrl: deps.gitlabUrl,
      currentStep: (n) => deps.logs.currentStep(n),
    };
    if (ctx.path === "/api/builds") {
      const { builds, total } = listBuilds(deps.store, ctx.query, view);
      ctx.set("X-Total-Count", String(total));
      ctx.body = builds;
      return;
    }
    if (ctx.path === "/") {
      // The list as the page's query asks (the page's size is the list's own), and the image names for its filter.
      const filter = { ...ctx.query, per_page: String(LIST_PAGE_SIZE) };
      const images = deps.store.queries.images().map((row) => row.image);
      ctx.type = "html";
      ctx.body = deps.pages.render("index.html", { ...listBuilds(deps.store, filter, view), images });
      return;
    }
    const match = /^\/(api\/)?builds\/(\d+)(\/log|\/events|\/events\.ndjson|\/screenshot\.png)?$/.exec(ctx.path);
    if (!match) return next();
    const id = Number(match[2]);
    if (!deps.store.getBuild(id)) throw new HttpError(404, `no build #${id}`);
    const row = match[1] ? deps.store.queries.get(id) : undefined;
    if (row) ctx.body = buildView(dashboardBuild(row), view);
    else if (match[3] === "/log") {
      ctx.type = "text/plain; charset=utf-8";
      ctx.body = Readable.from(plainLog(deps.logs, id, deps.masker, deps.pacer));
    } else if (match[3] === "/events.ndjson") {
      // The events so far in one answer: the build page loads the lines above the log's end it
      // came with in one request, not thousands of SSE messages; it follows /events after them.
      ctx.type = "application/x-ndjson; charset=utf-8";
      ctx.body = Readable.from(storedEvents(deps.logs, id, deps.masker, deps.pacer));
    } else if (match[3] === "/events")
      streamLog(ctx, id, {
        logs: deps.logs,
        masker: deps.masker,
        pacer: deps.pacer,
        state: (n) => deps.store.getBuild(n)?.state,
      });
    else if (match[3] === "/screenshot.png") {
      // The running VM's console, or a failed build's last screen; 404 when there is neither.
      const png = await deps.screenshot(id);
      if (!png) throw new HttpError(404, `no console screenshot of build #${id}`);
      ctx.set("Cache-Control", "no-store");
      ctx.type = "image/png";
      ctx.body = png;
    } else {
      // The build and what it draws first of its log come with the page; the lines above the
      // log's end start loading with it (events.ndjson), beside its scripts, not after them.
      const row = deps.store.queries.get(id);
      const log = await logStart(deps.logs, id, deps.masker, deps.pacer);
      ctx.type = "html";
      ctx.body = deps.pages.render("build.html", row && { build: buildView(dashboardBuild(row), view), log }, [
        `/builds/${id}/events.ndjson`,
      ]);
    }
  };
}

/** How many builds the list page shows at once (list.js asks for as many). */
const LIST_PAGE_SIZE = 50;

/** A page of the build list, as the API answers it, and how many builds match in all. */
function listBuilds(
  store: Store,
  query: Query,
  view: ViewContext,
): { builds: Record<string, unknown>[]; total: number } {
  const { rows, total } = store.queries.list(buildFilter(query));
  return { builds: rows.map((row) => buildView(dashboardBuild(row), view)), total };
}

type Query = Record<string, string | string[] | undefined>;

/** The build list's filters from the query string (?image=&state=&mr=&requester=&page=&per_page=); a bad number is ignored. */
function buildFilter(query: Query): BuildFilter {
  const text = (name: string) => (typeof query[name] === "string" ? (query[name] as string).trim() : undefined);
  // "!12" or "12" for an MR.
  const number = (name: string) => {
    const n = Number(text(name)?.replace(/^!/, ""));
    return text(name) && Number.isInteger(n) && n > 0 ? n : undefined;
  };
  const filter: BuildFilter = {};
  for (const [key, value] of [
    ["image", text("image")],
    ["state", text("state")],
    ["requester", text("requester")],
    ["mr", number("mr")],
    ["page", number("page")],
    ["perPage", number("per_page")],
  ] as const)
    if (value !== undefined && value !== "") Object.assign(filter, { [key]: value });
  return filter;
}

/** How many of the log's last events the build page carries. */
const PAGE_TAIL = 200;
const TIMELINE_EVENTS = new Set(["build-start", "step-start", "step-end", "build-end"]);

/**
 * What the build page draws first, as events.ndjson would serve it: the log's last events, the
 * events of its step timeline before them, and how many events there are in all (the page
 * fetches the ones above its end afterwards, and follows the live log from the last one).
 */
async function logStart(logs: LogStore, id: number, masker: Masker, pacer: Pacer) {
  let count = 0;
  let tail: LogLine[] = [];
  const steps: { seq: number; event: unknown }[] = [];
  for await (const lines of logs.chunks(id))
    await pacer.run(() => {
      for (const line of readableLines(lines, masker)) {
        count = line.seq;
        tail.push(line);
        // Only a line that may be a step's event is parsed.
        if (!line.text.includes('"type":"step-') && !line.text.includes('"type":"build-')) continue;
        const event = JSON.parse(line.text) as { type?: unknown };
        if (TIMELINE_EVENTS.has(event.type as string)) steps.push({ seq: line.seq, event });
      }
      if (tail.length > 2 * PAGE_TAIL) tail = tail.slice(-PAGE_TAIL);
    });
  tail = tail.slice(-PAGE_TAIL);
  const first = tail[0]?.seq ?? count + 1;
  return {
    count,
    tail: tail.map((line) => JSON.parse(line.text) as unknown),
    steps: steps.filter((s) => s.seq < first).map((s) => s.event),
  };
}

/** The stored events as they are served (masked, an older log's lines as events), one JSON line each. */
async function* storedEvents(logs: LogStore, id: number, masker: Masker, pacer: Pacer): AsyncGenerator<string> {
  for await (const lines of logs.chunks(id))
    yield await pacer.run(() =>
      readableLines(lines, masker)
        .map((l) => `${l.text}\n`)
        .join(""),
    );
}

/** The log rendered as text, lines joined by \n (no newline after the last), chunk by chunk: a long log is not read into memory at once. */
async function* plainLog(logs: LogStore, id: number, masker: Masker, pacer: Pacer): AsyncGenerator<string> {
  let first = true;
  for await (const lines of logs.chunks(id)) {
    const text = await pacer.run(() =>
      readableLines(lines, masker)
        .map((l) => renderLine(l.text))
        .join("\n"),
    );
    yield first ? text : `\n${text}`;
    first = false;
  }
}
