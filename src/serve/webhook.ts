// POST /hooks/gitlab. GitLab disables a hook after repeated 4xx answers or timeouts, so
// only a wrong secret gets an error; every other delivery is recorded (deduplicated) and
// answered at once, and the work runs after the response.
//
// This route is plain node:http, not koa: under a burst of deliveries serve's CPU is the
// bottleneck and every request waits behind the others, so each microsecond per request
// counts (bench/webhooks.mjs; docs/benchmarks.md). koa's context, middleware chain and
// response machinery cost more than the intake's own work, and the answers are a handful of
// constant bodies, encoded once. Deliveries read in the same turn of the event loop are
// recorded in one SQLite transaction (one commit instead of one each) and then answered.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SECURITY_HEADERS } from "./headers.js";

/** The events serve acts on. */
export type WebhookEvent = "note" | "merge_request";

/** What the intake hands on: an event kind and its parsed payload. */
export interface WebhookDeps {
  secret: string;
  /** Records deliveries (key, event, raw body) durably, in one transaction; false for each duplicate. The only I/O before the answer. */
  accept: (deliveries: readonly Delivery[]) => boolean[];
  /** Called after the response with each new delivery and its raw body; only queues its handling, must not throw. */
  dispatch: (key: string, event: WebhookEvent, body: string) => void;
  /** An unexpected error (the delivery was answered 500). */
  onError: (error: unknown) => void;
}

/** A delivery as it is recorded: its dedupe key, event and raw body. */
export interface Delivery {
  key: string;
  event: WebhookEvent;
  payload: string;
}

/** A delivery read, waiting for its batch to be recorded. */
interface Waiting extends Delivery {
  send: (a: Answer) => void;
}

/** The webhook's path. */
export const HOOK_PATH = "/hooks/gitlab";

/** GitLab sends no webhook body larger than 25 MiB (it drops the hook instead), so a larger one is not GitLab's. */
export const MAX_BODY = 25 * 1024 * 1024;
const HANDLED: Record<string, WebhookEvent> = { "Note Hook": "note", "Merge Request Hook": "merge_request" };

/** Every answer the intake gives: status and JSON body, encoded once. */
const ANSWERS = {
  accepted: answer(202, { status: "accepted" }),
  duplicate: answer(200, { status: "duplicate" }),
  notHandled: answer(202, { status: "ignored", reason: "event not handled" }),
  notJson: answer(202, { status: "ignored", reason: "body is not a JSON object" }),
  tooLarge: answer(413, { error: "body too large (the limit is 25 MiB, as GitLab's)" }),
  badToken: answer(401, { error: "invalid or missing X-Gitlab-Token" }),
  notPost: answer(405, { error: "use POST" }),
  broken: answer(500, { error: "internal error" }),
};
type Answer = { status: number; body: Buffer };

function answer(status: number, body: unknown): Answer {
  return { status, body: Buffer.from(JSON.stringify(body)) };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/** Compares two secrets in constant time (hashes first, so lengths leak nothing either). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(sha256(given), sha256(expected));
}

/** Whether a request is for the webhook (the rest goes to the dashboard). */
export function isHookRequest(req: IncomingMessage): boolean {
  const url = req.url ?? "";
  return url === HOOK_PATH || url.startsWith(`${HOOK_PATH}?`);
}

/** The webhook as a node:http request handler. */
export function webhookHandler(deps: WebhookDeps): (req: IncomingMessage, res: ServerResponse) => void {
  // The expected secret's hash once, not once per delivery.
  const expected = sha256(deps.secret);
  const tokenMatches = (given: string | string[] | undefined) =>
    typeof given === "string" && timingSafeEqual(sha256(given), expected);

  // Deliveries read during this turn of the event loop; recorded together right after it.
  let batch: Waiting[] = [];
  const record = () => {
    const waiting = batch;
    batch = [];
    let fresh: boolean[];
    try {
      fresh = deps.accept(waiting);
    } catch (error) {
      deps.onError(error);
      for (const d of waiting) d.send(ANSWERS.broken);
      return;
    }
    waiting.forEach((d, i) => d.send(fresh[i] ? ANSWERS.accepted : ANSWERS.duplicate));
    // Answered first; dispatch only queues the work (the service handles it later).
    waiting.forEach((d, i) => fresh[i] && deps.dispatch(d.key, d.event, d.payload));
  };

  return (req, res) => {
    const t0 = performance.now();
    const send = (a: Answer, close = false) => {
      // How long serve itself took (body read included): the client's latency minus this is
      // time spent queued in the network stack or behind other work on the event loop.
      res.writeHead(a.status, {
        ...SECURITY_HEADERS,
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": a.body.length,
        "Server-Timing": `intake;dur=${(performance.now() - t0).toFixed(2)}`,
        ...(a === ANSWERS.notPost ? { Allow: "POST" } : {}),
        ...(close ? { Connection: "close" } : {}),
      });
      res.end(a.body);
    };
    // A request refused before its body is read: answered, then the connection is dropped,
    // so the rest of the body (100 MiB, say) is never read. Without this, keep-alive makes
    // node read and discard all of it to reuse the connection.
    const refuse = (a: Answer) => {
      res.once("finish", () => req.socket.destroy());
      send(a, true);
    };
    if (req.method !== "POST") return refuse(ANSWERS.notPost);
    // The token is checked on the headers alone, before a byte of the body is read.
    if (!tokenMatches(req.headers["x-gitlab-token"])) return refuse(ANSWERS.badToken);
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY) return refuse(ANSWERS.tooLarge);
    const event = HANDLED[String(req.headers["x-gitlab-event"])];
    // An event serve does not act on is acknowledged without even reading its body.
    if (!event) {
      req.resume();
      return send(ANSWERS.notHandled);
    }
    readBody(req, (raw) => {
      if (raw === undefined) return refuse(ANSWERS.tooLarge);
      // GitLab's Idempotency-Key is the dedupe key: then the body is not even parsed before
      // the answer (the handler parses it, and ignores one that is not a JSON object).
      let key = req.headers["idempotency-key"];
      if (typeof key !== "string" || key === "") {
        const parsed = parseObject(raw);
        if (!parsed) return send(ANSWERS.notJson);
        key = fallbackKey(event, parsed);
      }
      // setImmediate runs once the poll phase has read every request that was ready.
      if (batch.push({ key, event, payload: raw, send }) === 1) setImmediate(record);
    });
  };
}

export function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Project + note id + action for notes; project + MR + action + head for merge requests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a GitLab payload, read defensively
export function fallbackKey(event: WebhookEvent, p: Record<string, any>): string {
  const project = p.project?.id ?? p.project_id ?? "?";
  const a = p.object_attributes ?? {};
  if (event === "note") return `note:${project}:${a.id ?? "?"}:${a.action ?? a.updated_at ?? "create"}`;
  return `mr:${project}:${a.iid ?? "?"}:${a.action ?? "?"}:${a.last_commit?.id ?? ""}:${a.oldrev ?? ""}:${a.updated_at ?? ""}`;
}

/**
 * The body as text, or undefined as soon as it passes MAX_BODY (a chunked body has no
 * Content-Length to check first); nothing more is read then. Stream events, not
 * `for await`: the async iterator costs more per request than the rest of the read.
 */
function readBody(req: IncomingMessage, done: (raw: string | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY) return void chunks.push(chunk);
    req.off("data", onData);
    req.off("end", onEnd);
    req.pause();
    done(undefined);
  };
  const onEnd = () => done(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"));
  req.on("data", onData);
  req.once("end", onEnd);
  req.once("error", () => undefined); // the client went away: nothing to answer
}
