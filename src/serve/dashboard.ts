// The read-only dashboard: JSON for the build list and a build, the log rendered as text,
// and the live log (the build's events, as JSON) over Server-Sent Events (sse.ts). The pages are static files in ./public.
// Everything it serves passes through the service's masker once more: logs are masked when
// written, and this second pass catches a line that was not (an older log, a rotated secret).
import type { Middleware } from "koa";
import { Readable } from "node:stream";
import type { Masker } from "../index.js";
import type { LogStore } from "./logs.js";
import type { Pacer } from "./pacer.js";
import { streamLog } from "./sse.js";
import { readableLines, renderLine } from "./event-log.js";
import { buildDuration, type BuildRecord, type Store } from "./store.js";
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

/** Public view of a build record (no work dir paths). */
export function buildView(b: BuildRecord, now: number, masker: Masker): Record<string, unknown> {
  // Each text that came from a build or a user goes through the masker.
  const m = <T extends string | undefined | null>(text: T) => (typeof text === "string" ? masker.mask(text) : text);
  return {
    id: b.id,
    image: b.image,
    projectId: b.projectId,
    mrIid: b.mrIid,
    sha: b.sha,
    requestedBy: m(b.requestedBy),
    state: b.state,
    reason: m(b.reason),
    failingStep: m(b.failingStep),
    createdAt: b.createdAt,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    durationMs: buildDuration(b, now) ?? null,
    // The tsimg worker that ran it (docs/scale-out.md); null in serve's own process.
    worker: b.worker,
    artifacts: b.artifacts.map((a) => ({
      name: m(a.file.split("/").pop()),
      size: a.size ?? null,
      sha256: a.sha256 ?? null,
      uploadedTo: m(a.uploadedTo) ?? null,
    })),
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
}

/** Routes of the dashboard API. */
export function dashboardApi(deps: DashboardDeps): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== "GET" && ctx.method !== "HEAD") return next();
    if (ctx.path === "/api/builds") {
      ctx.body = deps.store.listBuilds().map((b) => buildView(b, deps.now(), deps.masker));
      return;
    }
    const match = /^\/(api\/)?builds\/(\d+)(\/log|\/events|\/screenshot\.png)?$/.exec(ctx.path);
    if (!match) return next();
    const id = Number(match[2]);
    const build = deps.store.getBuild(id);
    if (!build) throw new HttpError(404, `no build #${id}`);
    if (match[1]) ctx.body = buildView(build, deps.now(), deps.masker);
    else if (match[3] === "/log") {
      ctx.type = "text/plain; charset=utf-8";
      ctx.body = Readable.from(plainLog(deps.logs, id, deps.masker, deps.pacer));
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
      ctx.path = "/build.html";
      return next();
    }
  };
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
