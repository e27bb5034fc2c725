// worker.toml: one build host's settings. No GitLab token has a place here, and a worker
// started with one in its environment refuses to run: serve does every GitLab call.
import TOML from "@iarna/toml";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { lookUpBuildUser, passedEnv, ServeConfigError, type BuildUser } from "../serve/config.js";
import { parseRedisSettings, redisKeys } from "../serve/queue-config.js";
import { LABEL, type RedisSettings } from "../serve/queue-protocol.js";

/** A worker's validated settings; every path absolute. */
export interface WorkerConfig {
  /** Shown on the dashboard and in "worker <name> lost"; the host name by default. */
  name: string;
  redis: RedisSettings;
  /** Builds (VMs) at once. */
  slots: number;
  /** What this host offers (kvm, efi, x86_64 ...): it takes jobs whose image needs a subset of these. */
  labels: string[];
  workDir: string;
  /** The builds' ISO and download cache (TSIMG_CACHE_DIR). */
  cacheDir: string;
  buildUser?: BuildUser;
  /** Variables passed from the worker's environment to every build: its post-processors' credentials, a proxy. */
  buildEnv: Record<string, string>;
  /** On SIGTERM, running builds finish (default) or are cancelled; either way no new job is taken. */
  onSigterm: "finish" | "cancel";
}

const KEYS = [
  ...redisKeys,
  "name",
  "slots",
  "labels",
  "work_dir",
  "cache_dir",
  "build_user",
  "build_env",
  "on_sigterm",
];

/** serve's secrets: none of them belongs on a build host. */
const GITLAB_VARIABLES = [
  "TSIMG_GITLAB_TOKEN",
  "TSIMG_GITLAB_TOKEN_FILE",
  "TSIMG_WEBHOOK_SECRET",
  "TSIMG_WEBHOOK_SECRET_FILE",
];

/** Reads and checks worker.toml; every problem is listed at once. */
export function loadWorkerConfig(path: string, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  let raw: Record<string, unknown>;
  try {
    raw = TOML.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ServeConfigError(`cannot read ${path}: ${(error as Error).message.split("\n")[0]}`);
  }
  const problems: string[] = [];
  const baseDir = dirname(resolve(path));
  for (const key of Object.keys(raw))
    if (!KEYS.includes(key)) problems.push(`unknown key "${key}"; known keys are ${KEYS.join(", ")}`);
  for (const name of GITLAB_VARIABLES)
    if (env[name] !== undefined)
      problems.push(`${name} is set: a worker never holds serve's secrets (serve does every GitLab call); unset it`);
  const redis = parseRedisSettings(raw, "", baseDir, env, problems);
  const name = raw.name ?? hostname();
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name))
    problems.push(`expected "name" to be a worker name like "build-01", got ${JSON.stringify(name)}`);
  const slots = raw.slots ?? 1;
  if (typeof slots !== "number" || !Number.isInteger(slots) || slots < 1 || slots > 64)
    problems.push(`expected "slots" to be a whole number from 1 to 64, got ${JSON.stringify(slots)}`);
  const labels = raw.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string" || !LABEL.test(l)))
    problems.push(
      `expected "labels" to be a list like ["kvm", "efi", "x86_64"] (lower case, digits, . _ -), got ${JSON.stringify(labels)}`,
    );
  const dir = (key: string, fallback: string) => {
    const value = raw[key] ?? fallback;
    if (typeof value === "string" && value.length > 0) return resolve(baseDir, value);
    problems.push(`expected "${key}" to be a folder, got ${JSON.stringify(value)}`);
    return "";
  };
  const onSigterm = raw.on_sigterm ?? "finish";
  if (onSigterm !== "finish" && onSigterm !== "cancel")
    problems.push(`expected "on_sigterm" to be "finish" or "cancel", got ${JSON.stringify(onSigterm)}`);
  const buildUser = raw.build_user === undefined ? undefined : lookUpBuildUser(raw.build_user, problems);
  const buildEnv = raw.build_env === undefined ? {} : (passedEnv(raw.build_env, env, problems) ?? {});
  const config: WorkerConfig = {
    name: String(name),
    redis,
    slots: typeof slots === "number" ? slots : 1,
    labels: Array.isArray(labels) ? [...new Set(labels as string[])].sort() : [],
    workDir: dir("work_dir", "tsimg-worker/work"),
    cacheDir: dir("cache_dir", "tsimg-worker/cache"),
    ...(buildUser ? { buildUser } : {}),
    buildEnv,
    onSigterm: onSigterm === "cancel" ? "cancel" : "finish",
  };
  if (problems.length > 0) {
    const head = `${problems.length} error${problems.length === 1 ? "" : "s"} in ${path}`;
    throw new ServeConfigError(`${head}:\n  ${problems.join("\n  ")}`, { details: problems });
  }
  return config;
}
