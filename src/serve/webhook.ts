// POST /hooks/gitlab. GitLab disables a hook after repeated 4xx answers or timeouts, so
// only a wrong secret gets an error; every other delivery is recorded (deduplicated) and
// answered at once, and the work runs after the response.
import { timingSafeEqual, createHash } from "node:crypto";
import type { Middleware } from "koa";

/** The events serve acts on. */
export type WebhookEvent = "note" | "merge_request";

/** What the intake hands on: an event kind and its parsed payload. */
export interface WebhookDeps {
  secret: string;
  /** Records a delivery (its key and raw body) durably; false for a duplicate. The only I/O before the answer. */
  accept: (key: string, event: WebhookEvent, body: string) => boolean;
  /** Runs after the response; must not throw. */
  dispatch: (key: string, event: WebhookEvent, payload: Record<string, unknown>) => void;
}

const MAX_BODY = 25 * 1024 * 1024;
const HANDLED: Record<string, WebhookEvent> = { "Note Hook": "note", "Merge Request Hook": "merge_request" };

/** Compares two secrets in constant time (hashes first, so lengths leak nothing either). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The webhook route as koa middleware. */
export function webhook(deps: WebhookDeps): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== "/hooks/gitlab") return next();
    const t0 = performance.now();
    try {
      await intake(ctx, deps);
    } finally {
      // How long serve itself took (body read included): the client's latency minus this is
      // time spent queued in the network stack or behind other work on the event loop.
      ctx.set("Server-Timing", `intake;dur=${(performance.now() - t0).toFixed(2)}`);
    }
  };
}

async function intake(ctx: Parameters<Middleware>[0], deps: WebhookDeps): Promise<void> {
  if (ctx.method !== "POST") {
    ctx.status = 405;
    ctx.set("Allow", "POST");
    return;
  }
  if (!secretMatches(ctx.get("X-Gitlab-Token") || undefined, deps.secret)) {
    ctx.status = 401;
    ctx.body = { error: "invalid or missing X-Gitlab-Token" };
    return;
  }
  const event = HANDLED[ctx.get("X-Gitlab-Event")];
  const raw = await readBody(ctx.req);
  ctx.status = 202;
  // An event serve does not act on is acknowledged without even parsing its body.
  if (!event) return void (ctx.body = { status: "ignored", reason: "event not handled" });
  let payload: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = raw === undefined ? undefined : JSON.parse(raw);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) payload = parsed as Record<string, unknown>;
  } catch {
    payload = undefined;
  }
  if (!payload || raw === undefined) return void (ctx.body = { status: "ignored", reason: "body is not a JSON object" });
  const key = ctx.get("Idempotency-Key") || fallbackKey(event, payload);
  if (!deps.accept(key, event, raw)) {
    ctx.status = 200;
    ctx.body = { status: "duplicate" };
    return;
  }
  ctx.body = { status: "accepted" };
  const work = payload;
  // After the response is written: nothing GitLab waits for runs here.
  setImmediate(() => deps.dispatch(key, event, work));
}

/** Project + note id + action for notes; project + MR + action + head for merge requests. */
export function fallbackKey(event: WebhookEvent, p: Record<string, any>): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const project = p.project?.id ?? p.project_id ?? "?";
  const a = p.object_attributes ?? {};
  if (event === "note") return `note:${project}:${a.id ?? "?"}:${a.action ?? a.updated_at ?? "create"}`;
  return `mr:${project}:${a.iid ?? "?"}:${a.action ?? "?"}:${a.last_commit?.id ?? ""}:${a.oldrev ?? ""}:${a.updated_at ?? ""}`;
}

async function readBody(req: NodeJS.ReadableStream): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
