// serve.toml: the service's settings. Secrets never come from the file, nor from the
// environment: only from files (secrets.ts), so the file can be committed.
import { checkImageGlob, defaultImageGlobs } from "./image-discovery.js";
import TOML from "@iarna/toml";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { TsimgError } from "../index.js";
import { parseQueueSettings, type QueueSettings } from "./queue-config.js";
import { readSecret, SECRET_FILES } from "./secrets.js";

/** The names of serve's secrets; each is read from the file named by <name>_FILE (secrets.ts). */
export const SECRET_ENV = {
  gitlabToken: "TSIMG_GITLAB_TOKEN",
  webhookSecret: "TSIMG_WEBHOOK_SECRET",
  dashboardToken: "TSIMG_DASHBOARD_TOKEN",
} as const;

/** Validated settings; every path absolute. */
export interface ServeConfig {
  host: string;
  port: number;
  /** Base URL of the dashboard as GitLab users reach it (target_url of statuses, note links). */
  publicUrl: string;
  gitlabUrl: string;
  /** Project ids ("42") or paths ("group/project") allowed to trigger builds. */
  allowedProjects: string[];
  minAccessLevel: number;
  /** Folder of templates inside the repository. */
  imagesDir: string;
  // Where images are (image_globs): by default "<images_dir>/*.toml" and Packer's "packer/*/*.pkr.hcl" and ".pkr.json".
  imageGlobs?: string[];
  stateDir: string;
  concurrency: number;
  allowForks: boolean;
  autobuild: boolean;
  /** Serve the dashboard without a token (`dashboard_open = true`); otherwise the token is required. */
  dashboardOpen: boolean;
  /** A build's log stops growing at this many bytes (a marker line says so). */
  maxLogBytes: number;
  secrets: { gitlabToken: string; webhookSecret: string; dashboardToken?: string; redisPassword?: string };
  /** Builds run as this user (`build_user`): serve's files, memory and environment are out of their reach. */
  buildUser?: BuildUser;
  /** Variables (`build_env`) passed from serve's environment to every build; all a build's environment has besides PATH, HOME, TMPDIR, locale and the ISO cache. */
  buildEnv?: Record<string, string>;
  /** [queue]: builds go to `tsimg worker`s through BullMQ on Redis (docs/scale-out.md); absent, they run in serve's process. */
  queue?: QueueSettings;
}

/** The unprivileged account builds run as. */
export interface BuildUser {
  name: string;
  uid: number;
  gid: number;
}

/** A problem in serve.toml or the environment; the message names the key and the value received. */
export class ServeConfigError extends TsimgError {}

const KEYS = [
  "listen",
  "public_url",
  "gitlab_url",
  "allowed_projects",
  "min_access_level",
  "images_dir",
  "image_globs",
  "state_dir",
  "concurrency",
  "allow_forks",
  "autobuild",
  "build_user",
  "build_env",
  "dashboard_open",
  "max_log_size",
  "queue",
];
const NAME_SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9._-]+)*$/;

/** Reads and validates serve.toml; every problem is listed at once. */
export function loadServeConfig(path: string, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  let raw: Record<string, unknown>;
  try {
    raw = TOML.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ServeConfigError(`cannot read ${path}: ${(error as Error).message.split("\n")[0]}`);
  }
  return parseServeConfig(raw, dirname(resolve(path)), env, path);
}

/** Validates already-parsed settings; relative paths resolve against baseDir. */
export function parseServeConfig(
  raw: Record<string, unknown>,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  file = "serve.toml",
): ServeConfig {
  const problems: string[] = [];
  const got = (value: unknown) => `got ${JSON.stringify(value)} (${Array.isArray(value) ? "array" : typeof value})`;
  for (const key of Object.keys(raw))
    if (!KEYS.includes(key)) problems.push(`unknown key "${key}"; known keys are ${KEYS.join(", ")}`);
  if (
    raw.secret !== undefined ||
    raw.token !== undefined ||
    raw.gitlab_token !== undefined ||
    raw.webhook_secret !== undefined
  )
    problems.push(
      `secrets are not read from ${file}: put each in a file and set ${SECRET_ENV.gitlabToken}_FILE and ${SECRET_ENV.webhookSecret}_FILE (or use systemd credentials)`,
    );

  const str = (key: string, fallback?: string): string => {
    const value = raw[key] ?? fallback;
    if (typeof value === "string" && value.length > 0) return value;
    problems.push(
      value === undefined ? `missing "${key}"` : `expected "${key}" to be a non-empty string, ${got(value)}`,
    );
    return "";
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const value = raw[key] ?? fallback;
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
    problems.push(`expected "${key}" to be a whole number from ${min} to ${max}, ${got(value)}`);
    return fallback;
  };
  const bool = (key: string): boolean => {
    const value = raw[key] ?? false;
    if (typeof value === "boolean") return value;
    problems.push(`expected "${key}" to be true or false, ${got(value)}`);
    return false;
  };
  const size = (key: string, fallback: string, min: number): number => {
    const value = raw[key] ?? fallback;
    const bytes = typeof value === "string" ? parseBytes(value) : undefined;
    if (bytes !== undefined && bytes >= min) return bytes;
    problems.push(`expected "${key}" to be a size like "10M" or "512K" (at least ${min / 1024}K), ${got(value)}`);
    return parseBytes(fallback) ?? 0;
  };
  const url = (key: string, fallback?: string): string => {
    const value = str(key, fallback);
    if (value && !/^https?:\/\/[^\s/]+/.test(value))
      problems.push(
        `expected "${key}" to be an http(s) URL like https://gitlab.example.com, got ${JSON.stringify(value)}`,
      );
    return value.replace(/\/+$/, "");
  };

  const listen = str("listen", "127.0.0.1:8080");
  const match = /^(.*):(\d{1,5})$/.exec(listen);
  const port = match ? Number(match[2]) : NaN;
  if (listen && (!match || port > 65535))
    problems.push(`expected "listen" like 127.0.0.1:8080 or 0.0.0.0:8080, got ${JSON.stringify(listen)}`);
  const host = (match?.[1] ?? "127.0.0.1").replace(/^\[(.*)\]$/, "$1");

  const projects = raw.allowed_projects;
  const allowedProjects: string[] = [];
  if (!Array.isArray(projects) || projects.length === 0)
    problems.push(`expected "allowed_projects" to be a non-empty list of project ids or paths, ${got(projects)}`);
  else
    for (const p of projects) {
      if ((typeof p === "number" && Number.isInteger(p) && p > 0) || (typeof p === "string" && NAME_SAFE.test(p)))
        allowedProjects.push(String(p));
      else
        problems.push(
          `expected each of "allowed_projects" to be a project id or a path like "group/project", ${got(p)}`,
        );
    }

  const imagesDir = str("images_dir", "images");
  if (imagesDir && (imagesDir.startsWith("/") || imagesDir.split("/").includes("..") || !NAME_SAFE.test(imagesDir)))
    problems.push(
      `expected "images_dir" to be a folder inside the repository like "images", got ${JSON.stringify(imagesDir)}`,
    );

  const imageGlobs = globs(raw.image_globs, defaultImageGlobs(imagesDir), problems);

  const buildUser = raw.build_user === undefined ? undefined : lookUpBuildUser(raw.build_user, problems);
  const buildEnv = raw.build_env === undefined ? undefined : passedEnv(raw.build_env, env, problems);
  const secretNames = Object.fromEntries(Object.entries(SECRET_FILES).map(([key, s]) => [s.variable, key])) as Record<
    string,
    keyof typeof SECRET_FILES
  >;
  const secret = (name: string, required: boolean): string | undefined =>
    readSecret(secretNames[name]!, required, { env, problems, ...(buildUser ? { buildUid: buildUser.uid } : {}) });
  const gitlabToken = secret(SECRET_ENV.gitlabToken, true) ?? "";
  const webhookSecret = secret(SECRET_ENV.webhookSecret, true) ?? "";
  const dashboardToken = secret(SECRET_ENV.dashboardToken, false);
  // The dashboard shows logs, commits and who asked: closed unless the file says otherwise.
  const dashboardOpen = bool("dashboard_open");
  if (!dashboardOpen && !dashboardToken)
    problems.push(
      `the dashboard needs a token: put it in a file and set ${SECRET_ENV.dashboardToken}_FILE (or the systemd credential "dashboard-token"), or set dashboard_open = true in ${file} to let anyone who reaches "listen" read it`,
    );
  if (dashboardOpen && dashboardToken)
    problems.push(`dashboard_open = true and ${SECRET_ENV.dashboardToken} are both set: remove one`);
  const maxLogBytes = size("max_log_size", "10M", 64 * 1024);
  const queue = parseQueueSettings(raw.queue, baseDir, env, problems);

  const config: ServeConfig = {
    host,
    port,
    publicUrl: url("public_url", `http://${listen}`),
    gitlabUrl: url("gitlab_url"),
    allowedProjects,
    minAccessLevel: int("min_access_level", 30, 10, 50),
    imagesDir,
    imageGlobs,
    stateDir: resolve(baseDir, str("state_dir", "tsimg-state")),
    concurrency: int("concurrency", 1, 1, 64),
    allowForks: bool("allow_forks"),
    autobuild: bool("autobuild"),
    dashboardOpen,
    maxLogBytes,
    secrets: {
      gitlabToken,
      webhookSecret,
      ...(dashboardToken ? { dashboardToken } : {}),
      ...(queue?.redis.password ? { redisPassword: queue.redis.password } : {}),
    },
    ...(buildUser ? { buildUser } : {}),
    ...(buildEnv ? { buildEnv } : {}),
    ...(queue ? { queue } : {}),
  };
  if (problems.length > 0) {
    const head = `${problems.length} error${problems.length === 1 ? "" : "s"} in ${file}`;
    throw new ServeConfigError(`${head}:\n  ${problems.join("\n  ")}`, { details: problems });
  }
  return config;
}

/** "512K", "10M", "1G" (also "10MiB", "10MB": all powers of 1024) in bytes; undefined if malformed. */
function parseBytes(text: string): number | undefined {
  const match = /^\s*(\d+)\s*([KMG])(?:i?B)?\s*$/i.exec(text);
  return match ? Number(match[1]) * 1024 ** " KMG".indexOf((match[2] as string).toUpperCase()) : undefined;
}

/** build_user: a user name (or uid) known to the host (getent), neither root nor serve's own user. */
export function lookUpBuildUser(value: unknown, problems: string[]): BuildUser | undefined {
  if (typeof value !== "string" || !/^[a-z_][a-z0-9_.-]*\$?$|^\d+$/i.test(value)) {
    problems.push(`expected "build_user" to be a user name like "tsimg-build", got ${JSON.stringify(value)}`);
    return undefined;
  }
  let entry: string;
  try {
    entry =
      execFileSync("getent", ["passwd", value], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split(
        "\n",
      )[0] ?? "";
  } catch {
    problems.push(
      `"build_user" ${JSON.stringify(value)} is not a user on this host (getent passwd found nothing): create it, e.g. useradd --system --no-create-home ${value}`,
    );
    return undefined;
  }
  const [name, , uid, gid] = entry.split(":");
  const user = { name: name ?? value, uid: Number(uid), gid: Number(gid) };
  if (!Number.isInteger(user.uid) || !Number.isInteger(user.gid))
    problems.push(`"build_user" ${JSON.stringify(value)}: getent answered ${JSON.stringify(entry)}`);
  else if (user.uid === 0) problems.push(`"build_user" must not be root: builds run code from merge requests`);
  else if (user.uid === process.getuid?.())
    problems.push(
      `"build_user" ${JSON.stringify(value)} is the user serve runs as: builds could read serve's secrets; use a separate account`,
    );
  else return user;
  return undefined;
}

/** Variables builds may see (build_env): names only, values from serve's environment; serve's own secrets never. */
export function passedEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: string[],
): Record<string, string> | undefined {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))) {
    problems.push(
      `expected "build_env" to be a list of environment variable names like ["http_proxy"], got ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  const forbidden = new Set([
    "CREDENTIALS_DIRECTORY",
    ...Object.values(SECRET_FILES).flatMap((s) => [s.variable, `${s.variable}_FILE`]),
  ]);
  const out: Record<string, string> = {};
  for (const name of value as string[]) {
    if (forbidden.has(name))
      problems.push(`"build_env" must not pass ${name} to builds: it is how serve finds its own secrets`);
    else if (env[name] !== undefined) out[name] = env[name] as string;
  }
  return out;
}

// image_globs: a list of globs such as "packer/*/*.pkr.hcl" (image-discovery.ts).
function globs(value: unknown, fallback: string[], problems: string[]): string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0 || value.some((g) => typeof g !== "string")) {
    problems.push(
      `expected "image_globs" to be a list of globs like ["packer/*/*.pkr.hcl"], got ${JSON.stringify(value)}`,
    );
    return fallback;
  }
  for (const glob of value as string[]) {
    const problem = checkImageGlob(glob);
    if (problem) problems.push(`"image_globs": ${problem}`);
  }
  return value as string[];
}
