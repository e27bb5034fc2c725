// The worker registry as serve reads it: which workers there are, their labels, slots and
// last heartbeat (the dashboard's workers table, GET /api/workers), and why a queued build
// waits. A worker's entry is its own claim, so it is checked and sized here.
import type { Middleware } from "koa";
import type { Redis } from "ioredis";
import { GONE_AFTER_MS, KEYS, LABEL, type WorkerInfo } from "./queue-protocol.js";

/** A worker as the dashboard shows it. */
export interface WorkerView extends WorkerInfo {
  /** No heartbeat for GONE_AFTER_MS. */
  gone: boolean;
}

/** Every worker in the registry, gone ones too (newest heartbeat first). */
export async function readWorkers(redis: Redis, now: number): Promise<WorkerView[]> {
  const entries = await redis.hgetall(KEYS.workers);
  const workers: WorkerView[] = [];
  for (const [name, text] of Object.entries(entries)) {
    let w: Partial<WorkerInfo>;
    try {
      w = JSON.parse(text) as Partial<WorkerInfo>;
    } catch {
      continue;
    }
    const heartbeat = typeof w.heartbeat === "number" ? w.heartbeat : 0;
    workers.push({
      name: name.slice(0, 64),
      labels: (Array.isArray(w.labels) ? w.labels : []).filter((l) => typeof l === "string" && LABEL.test(l)),
      slots: typeof w.slots === "number" ? w.slots : 0,
      busy: (Array.isArray(w.busy) ? w.busy : []).filter((b) => Number.isInteger(b)),
      draining: w.draining === true,
      heartbeat,
      gone: now - heartbeat > GONE_AFTER_MS,
    });
  }
  return workers.sort((a, b) => b.heartbeat - a.heartbeat);
}

/** Why a job needing `labels` waits, in words for the build's log and the dashboard. */
export function whyWaiting(labels: readonly string[], workers: readonly WorkerView[]): string {
  const needs = labels.length > 0 ? `labels ${labels.join(", ")}` : "no labels";
  const live = workers.filter((w) => !w.gone && !w.draining);
  const fit = live.filter((w) => labels.every((l) => w.labels.includes(l)));
  if (live.length === 0) return `waiting for a worker: none is connected (the build needs ${needs})`;
  if (fit.length === 0)
    return `waiting for a worker with ${needs}: none of the ${live.length} connected worker${live.length === 1 ? " has" : "s have"} them`;
  const slots = fit.reduce((n, w) => n + w.slots, 0);
  return `waiting for a free slot: ${fit.length} worker${fit.length === 1 ? "" : "s"} with ${needs}, all ${slots} slot${slots === 1 ? "" : "s"} busy`;
}

/** GET /api/workers: the registry, for the dashboard's workers table (behind the dashboard's auth). */
export function workersRoute(list: (() => Promise<WorkerView[]>) | undefined): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== "/api/workers" || (ctx.method !== "GET" && ctx.method !== "HEAD")) return next();
    ctx.body = { queue: list !== undefined, workers: list ? await list().catch(() => []) : [] };
  };
}
