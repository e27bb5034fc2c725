// The [queue] table of serve.toml, and the Redis settings worker.toml shares with it. The
// Redis password, like every secret, comes from a file (TSIMG_REDIS_PASSWORD_FILE or the
// systemd credential "redis-password"), never from the TOML file or the environment.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { LABEL, type RedisSettings } from "./queue-protocol.js";
import { readSecret } from "./secrets.js";

/** serve's queue: where Redis is, how long a worker's lock lasts, which labels each image needs. */
export interface QueueSettings {
  redis: RedisSettings;
  /** A worker that has not renewed its lock on a job for this long is lost (its build fails). */
  lockMs: number;
  /** Labels an image's build requires, by image name ("*": every image). */
  imageLabels: Record<string, string[]>;
}

const REDIS_KEYS = ["redis_url", "username", "tls", "ca_file", "sentinels", "sentinel_name"];
const QUEUE_KEYS = [...REDIS_KEYS, "lock_time", "image_labels"];

/** Reads the Redis keys of a table (serve's [queue], worker.toml's top level); problems are collected. */
export function parseRedisSettings(
  raw: Record<string, unknown>,
  where: string,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): RedisSettings {
  const url = raw.redis_url;
  if (typeof url !== "string" || !/^rediss?:\/\/[^\s/]+/.test(url))
    problems.push(
      `expected "${where}redis_url" to be a URL like redis://redis.example.com:6379, got ${JSON.stringify(url)}`,
    );
  else if (/^rediss?:\/\/[^/]*@/.test(url))
    problems.push(
      `"${where}redis_url" holds a user or password: set "${where}username" and put the password in a file named by TSIMG_REDIS_PASSWORD_FILE`,
    );
  const username = raw.username;
  if (username !== undefined && (typeof username !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(username)))
    problems.push(`expected "${where}username" to be a Redis ACL user name, got ${JSON.stringify(username)}`);
  const tls = raw.tls ?? false;
  if (typeof tls !== "boolean") problems.push(`expected "${where}tls" to be true or false, got ${JSON.stringify(tls)}`);
  let caFile: string | undefined;
  if (raw.ca_file !== undefined) {
    caFile = typeof raw.ca_file === "string" ? resolve(baseDir, raw.ca_file) : undefined;
    if (!caFile || !existsSync(caFile))
      problems.push(`expected "${where}ca_file" to name a PEM file, got ${JSON.stringify(raw.ca_file)}`);
  }
  const sentinels: { host: string; port: number }[] = [];
  if (raw.sentinels !== undefined) {
    const list = Array.isArray(raw.sentinels) ? raw.sentinels : [undefined];
    for (const entry of list) {
      const match = typeof entry === "string" ? /^(.+):(\d{1,5})$/.exec(entry) : null;
      if (match) sentinels.push({ host: match[1]!, port: Number(match[2]) });
      else
        problems.push(
          `expected "${where}sentinels" to be a list like ["sentinel-1:26379"], got ${JSON.stringify(raw.sentinels)}`,
        );
    }
    if (typeof raw.sentinel_name !== "string" || raw.sentinel_name.length === 0)
      problems.push(`"${where}sentinels" needs "${where}sentinel_name", the name of the primary the sentinels watch`);
  }
  const password = readSecret("redisPassword", false, { env, problems });
  return {
    url: typeof url === "string" ? url : "",
    ...(typeof username === "string" ? { username } : {}),
    ...(password ? { password } : {}),
    tls: tls === true,
    ...(caFile ? { caFile } : {}),
    ...(sentinels.length > 0 && typeof raw.sentinel_name === "string"
      ? { sentinels, sentinelName: raw.sentinel_name }
      : {}),
  };
}

/** Checks the Redis keys of a table that has nothing else (worker.toml checks its own). */
export const redisKeys = REDIS_KEYS;

/** serve.toml's [queue]; undefined when absent (builds run in serve's own process, as before). */
export function parseQueueSettings(
  raw: unknown,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): QueueSettings | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push(`expected [queue] to be a table with redis_url, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  const table = raw as Record<string, unknown>;
  for (const key of Object.keys(table))
    if (!QUEUE_KEYS.includes(key)) problems.push(`unknown key "queue.${key}"; known keys are ${QUEUE_KEYS.join(", ")}`);
  const redis = parseRedisSettings(table, "queue.", baseDir, env, problems);
  const lock = table.lock_time ?? 30;
  if (typeof lock !== "number" || !Number.isInteger(lock) || lock < 2 || lock > 3600)
    problems.push(`expected "queue.lock_time" to be whole seconds from 2 to 3600, got ${JSON.stringify(lock)}`);
  const imageLabels: Record<string, string[]> = {};
  const labels = table.image_labels ?? {};
  if (typeof labels !== "object" || labels === null || Array.isArray(labels))
    problems.push(`expected [queue.image_labels] to be a table like rocky9 = ["kvm", "efi"]`);
  else
    for (const [image, list] of Object.entries(labels as Record<string, unknown>)) {
      if (!Array.isArray(list) || list.some((l) => typeof l !== "string" || !LABEL.test(l)))
        problems.push(
          `expected "queue.image_labels.${image}" to be a list of labels like ["kvm", "efi"] (lower case, digits, . _ -), got ${JSON.stringify(list)}`,
        );
      else imageLabels[image] = list as string[];
    }
  return { redis, lockMs: (typeof lock === "number" ? lock : 30) * 1000, imageLabels };
}

/** The labels an image's build requires: its own entry and "*"'s. */
export function labelsFor(settings: QueueSettings, image: string): string[] {
  return [...new Set([...(settings.imageLabels["*"] ?? []), ...(settings.imageLabels[image] ?? [])])].sort();
}
