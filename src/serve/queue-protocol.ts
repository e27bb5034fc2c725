// What serve and `tsimg worker` say to each other through Redis (docs/scale-out.md): the
// BullMQ queues (one per set of labels an image requires), each build's capped event
// stream, the control channel (cancel, screenshot), the worker registry. Both sides import
// this file and nothing else of each other. Whatever a worker writes is untrusted (it runs
// a merge request's code): serve checks and sizes it.
import { Redis, type RedisOptions } from "ioredis";
import { readFileSync } from "node:fs";

/** How to reach Redis: redis_url, an ACL user, a password (from a file), TLS. */
export interface RedisSettings {
  url: string;
  username?: string;
  password?: string;
  /** TLS (also implied by a rediss:// URL); caFile adds a CA to trust. */
  tls: boolean;
  caFile?: string;
  /** Redis Sentinel: the sentinels ("host:port") and the name of the primary they watch; the URL's host is then unused. */
  sentinels?: { host: string; port: number }[];
  sentinelName?: string;
}

/** What a BullMQ job carries: ids and names, never a secret and never serve's paths. */
export interface JobData {
  buildId: number;
  image: string;
  /** The template inside the source tree, e.g. images/tinyos.toml. */
  template: string;
  labels: string[];
  /** How long the worker's lock on the job lasts without a renewal (serve's [queue] lock_time). */
  lockMs: number;
}

/** One entry of a build's event stream, worker -> serve. */
export type StreamMessage =
  | { t: "started"; worker: string; at: number }
  | { t: "event"; event: Record<string, unknown> }
  | { t: "secrets"; values: string[] }
  | { t: "result"; result: RemoteResult };

/** A build's outcome as the worker reports it (the failure screenshot in base64). */
export interface RemoteResult {
  ok: boolean;
  cancelled: boolean;
  error?: string;
  artifacts: { file: string; size?: number; sha256?: string; uploadedTo?: string }[];
  failureScreenshot?: string;
  /** The image's CycloneDX SBOM (JSON text), when the build wrote one. */
  sbom?: string;
}

/** serve -> workers, on the control channel. */
export type ControlMessage =
  { t: "cancel"; buildId: number; reason: string } | { t: "screenshot"; buildId: number; id: string };

/** A worker's entry in the registry (refreshed every HEARTBEAT_MS). */
export interface WorkerInfo {
  name: string;
  labels: string[];
  slots: number;
  busy: number[];
  draining: boolean;
  heartbeat: number;
}

export const HEARTBEAT_MS = 2_000;
/** A worker not heard of for this long is shown as gone. */
export const GONE_AFTER_MS = 3 * HEARTBEAT_MS;
/** Entries a build's event stream keeps (MAXLEN ~): the live view's window; serve copies them into its log. */
export const STREAM_MAXLEN = 100_000;
/** A source archive larger than this is refused (commit the ISO's URL and checksum, not the ISO). */
export const MAX_SOURCE_BYTES = 512 * 1024 * 1024;
/** Streams, sources and flags of finished builds expire after this long. */
export const KEEP_SECONDS = 24 * 60 * 60;

/** The Redis keys; one prefix for all of them. */
export const KEYS = {
  prefix: "tsimg",
  events: (buildId: number) => `tsimg:events:${buildId}`,
  source: (buildId: number) => `tsimg:source:${buildId}`,
  cancel: (buildId: number) => `tsimg:cancel:${buildId}`,
  cursor: (buildId: number) => `tsimg:cursor:${buildId}`,
  screenshot: (id: string) => `tsimg:screenshot:${id}`,
  control: "tsimg:control",
  /** Published after every job added: idle workers look for work at once. */
  wake: "tsimg:wake",
  /** The label sets jobs were queued with (each has its queue). */
  labelSets: "tsimg:label-sets",
  workers: "tsimg:workers",
};

/** The queue for jobs requiring these labels: builds, builds+efi+kvm ... (sorted, so one queue per set). */
export function queueName(labels: readonly string[]): string {
  return ["builds", ...[...new Set(labels)].sort()].join("+");
}

/** The labels a queue's jobs require. */
export function labelsOf(queue: string): string[] {
  return queue.split("+").slice(1);
}

/** The BullMQ job id of a build. */
export function jobId(buildId: number): string {
  return `build-${buildId}`;
}

export const LABEL = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

/**
 * A Redis connection. `blocking` connections (BullMQ's workers, stream readers) retry every
 * command forever; the others fail a command after a few reconnection attempts so the
 * caller can decide (serve keeps the build queued and tries again).
 */
export function connect(settings: RedisSettings, name: string, blocking: boolean): Redis {
  const url = new URL(settings.url);
  const tls = settings.tls || url.protocol === "rediss:";
  const options: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: blocking ? null : 3,
    // Reconnect for ever, at most every 2 s: a Redis restart is an ordinary event.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
    ...(tls ? { tls: settings.caFile ? { ca: readFileSync(settings.caFile) } : {} } : {}),
  };
  if (settings.sentinels && settings.sentinelName)
    return new Redis({
      ...options,
      sentinels: settings.sentinels,
      name: settings.sentinelName,
      db: Number(url.pathname.slice(1)) || 0,
    });
  return new Redis(settings.url, options);
}

/** Parses a stream entry's JSON; undefined when it is not one of ours. */
export function parseMessage(text: string | undefined): StreamMessage | undefined {
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as StreamMessage | null;
    return m && typeof m === "object" && typeof m.t === "string" ? m : undefined;
  } catch {
    return undefined;
  }
}
