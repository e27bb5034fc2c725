// The read-only dashboard: JSON for the build list and a build, the log as text, and the
// live log over Server-Sent Events (event id = line number, so a reconnect with
// Last-Event-ID resumes exactly). The pages are static files in ./public.
import type { Middleware } from "koa";
import { PassThrough } from "node:stream";
import type { LogStore } from "./logs.js";
import { buildDuration, type BuildRecord, type Store } from "./store.js";
import { secretMatches } from "./webhook.js";

const FINAL = new Set(["success", "failed", "canceled"]);

/** An error a client may see: status and message. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Bearer token or basic auth (any user name, the token as password) when a dashboard token is set. */
export function dashboardAuth(token: string | undefined): Middleware {
  return async (ctx, next) => {
    if (token === undefined) return next();
    const header = ctx.get("Authorization");
    const bearer = /^Bearer (.+)$/i.exec(header)?.[1];
    const basic = /^Basic (.+)$/i.exec(header)?.[1];
    const password = basic === undefined ? undefined : Buffer.from(basic, "base64").toString("utf8").split(":").slice(1).join(":");
    if (secretMatches(bearer ?? password, token)) return next();
    ctx.set("WWW-Authenticate", 'Basic realm="tsimg"');
    throw new HttpError(401, "authentication required");
  };
}

/** Public view of a build record (no work dir paths). */
export function buildView(b: BuildRecord, now: number): Record<string, unknown> {
  return {
    id: b.id,
    image: b.image,
    projectId: b.projectId,
    mrIid: b.mrIid,
    sha: b.sha,
    requestedBy: b.requestedBy,
    state: b.state,
    reason: b.reason,
    failingStep: b.failingStep,
    createdAt: b.createdAt,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    durationMs: buildDuration(b, now) ?? null,
    artifacts: b.artifacts.map((a) => ({ name: a.file.split("/").pop(), size: a.size ?? null, sha256: a.sha256 ?? null, uploadedTo: a.uploadedTo ?? null })),
  };
}

/** Routes of the dashboard API. */
export function dashboardApi(deps: { store: Store; logs: LogStore; now: () => number; pagesDir: string; screenshot: (id: number) => Promise<Buffer | undefined> }): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== "GET" && ctx.method !== "HEAD") return next();
    if (ctx.path === "/api/builds") {
      ctx.body = deps.store.listBuilds().map((b) => buildView(b, deps.now()));
      return;
    }
    const match = /^\/(api\/)?builds\/(\d+)(\/log|\/events|\/screenshot\.png)?$/.exec(ctx.path);
    if (!match) return next();
    const id = Number(match[2]);
    const build = deps.store.getBuild(id);
    if (!build) throw new HttpError(404, `no build #${id}`);
    if (match[1]) ctx.body = buildView(build, deps.now());
    else if (match[3] === "/log") {
      ctx.type = "text/plain; charset=utf-8";
      ctx.body = deps.logs.read(id).map((l) => l.text).join("\n");
    } else if (match[3] === "/events") streamEvents(ctx, id, deps);
    else if (match[3] === "/screenshot.png") {
      // The running VM's console, or a failed build's last screen; 404 when there is neither.
      const png = await deps.screenshot(id);
      if (!png) throw new HttpError(404, `no console screenshot of build #${id}`);
      ctx.set("Cache-Control", "no-store");
      ctx.type = "image/png";
      ctx.body = png;
    }
    else {
      ctx.path = "/build.html";
      return next();
    }
  };
}

function streamEvents(ctx: Parameters<Middleware>[0], id: number, deps: { store: Store; logs: LogStore }): void {
  const last = Number(ctx.get("Last-Event-ID") || ctx.query.lastEventId || 0);
  const after = Number.isInteger(last) && last > 0 ? last : 0;
  const stream = new PassThrough();
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.set({ "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" });
  ctx.status = 200;
  ctx.body = stream;

  let sent = after;
  const sendLine = (seq: number, text: string) => {
    if (seq <= sent) return;
    sent = seq;
    stream.write(`id: ${seq}\ndata: ${text}\n\n`);
  };
  const sendState = (state: string) => stream.write(`event: state\ndata: ${JSON.stringify({ state })}\n\n`);
  // Follow first, then replay the file: a line appended in between is sent once.
  const buffered: { seq: number; text: string }[] = [];
  let replaying = true;
  const unfollow = deps.logs.follow(id, (entry) => {
    if (entry.kind === "state") return void sendState(entry.state);
    if (replaying) buffered.push(entry);
    else sendLine(entry.seq, entry.text);
  });
  stream.write("retry: 1000\n\n");
  for (const line of deps.logs.read(id, after)) sendLine(line.seq, line.text);
  for (const line of buffered) sendLine(line.seq, line.text);
  replaying = false;
  sendState(deps.store.getBuild(id)?.state ?? "unknown");
  const heartbeat = setInterval(() => stream.write(": keep-alive\n\n"), 15_000);
  const stop = () => {
    clearInterval(heartbeat);
    unfollow();
    stream.end();
  };
  ctx.req.once("close", stop);
  if (FINAL.has(deps.store.getBuild(id)?.state ?? "")) stop();
}
