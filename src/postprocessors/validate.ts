// Validates one `[[post_processor]]` table against its type's option table, plus the
// rules a table cannot express. Problems are collected, not thrown (as checkTable does).
import { checkTable, isFile, type Problem } from "../core/check-options.js";
import { closest } from "../core/did-you-mean.js";
import { secretValues } from "../core/options.js";
import {
  CHECKSUM_OPTIONS,
  CHECKSUM_TYPES,
  COMPRESS_OPTIONS,
  MANIFEST_OPTIONS,
  NOTIFY_OPTIONS,
  POST_PROCESSOR_TABLES,
  SHELL_LOCAL_OPTIONS,
  UPLOAD_OPTIONS,
  type PostProcessorType,
} from "./schema.js";
import type { PostProcessorConfig } from "./types.js";

type Path = (string | number)[];

/**
 * One `[[post_processor]]` table (without `chain`): its type, options and scripts. The config,
 * or undefined when the table has problems (pushed to `problems`).
 */
export function checkPostProcessorTable(
  table: Record<string, unknown>,
  path: Path,
  baseDir: string,
  problems: Problem[],
): PostProcessorConfig | undefined {
  if (table.type === undefined) {
    const types = Object.keys(POST_PROCESSOR_TABLES).map((t) => `"${t}"`);
    problems.push({ path, message: `missing required key "type" (one of ${types.join(", ")})` });
    return undefined;
  }
  const config = checkPostProcessor(table, path, baseDir, problems);
  if (config?.type === "shell-local") {
    for (const [name, script] of [
      ["script", config.script],
      ...(config.scripts ?? []).map((s) => ["scripts", s]),
    ] as const) {
      if (script !== undefined && !isFile(script))
        problems.push({ path: [...path, name], message: `no such script ${script}` });
    }
  }
  return config;
}

/** The normalised config, or undefined when the table has problems (pushed to `problems`). */
export function checkPostProcessor(
  raw: Record<string, unknown>,
  path: Path,
  baseDir: string,
  problems: Problem[],
): PostProcessorConfig | undefined {
  const type = raw.type;
  const types = Object.keys(POST_PROCESSOR_TABLES);
  if (typeof type !== "string" || !Object.hasOwn(POST_PROCESSOR_TABLES, type)) {
    const hint = typeof type === "string" ? closest(type, types) : undefined;
    problems.push({
      path: [...path, "type"],
      message: `type: expected one of ${types.map((t) => `"${t}"`).join(", ")}, got ${JSON.stringify(type)}${hint ? `; did you mean "${hint}"?` : ""}`,
    });
    return undefined;
  }
  const before = problems.length;
  const config = checkOptions(type as PostProcessorType, raw, path, baseDir, problems);
  for (const [key, message] of crossCheck(config, raw)) problems.push({ path: key ? [...path, key] : path, message });
  return problems.length === before ? config : undefined;
}

/** The table checked against its type's option table, typed as that type's config. */
function checkOptions(
  type: PostProcessorType,
  raw: Record<string, unknown>,
  path: Path,
  baseDir: string,
  problems: Problem[],
): PostProcessorConfig {
  switch (type) {
    case "checksum":
      return { ...checkTable(raw, CHECKSUM_OPTIONS, path, baseDir, problems), type };
    case "compress":
      return { ...checkTable(raw, COMPRESS_OPTIONS, path, baseDir, problems), type };
    case "manifest":
      return { ...checkTable(raw, MANIFEST_OPTIONS, path, baseDir, problems), type };
    case "shell-local":
      return { ...checkTable(raw, SHELL_LOCAL_OPTIONS, path, baseDir, problems), type };
    case "upload":
      return { ...checkTable(raw, UPLOAD_OPTIONS, path, baseDir, problems), type };
    case "notify":
      return { ...checkTable(raw, NOTIFY_OPTIONS, path, baseDir, problems), type };
  }
}

/** [the key it is about (none: the whole table), message]. */
function crossCheck(config: PostProcessorConfig, raw: Record<string, unknown>): Array<[string | undefined, string]> {
  const type = config.type;
  // Keys with a problem are missing (see checkTable): read them as possibly absent.
  const c: Record<string, unknown> = config;
  const out: Array<[string | undefined, string]> = [];
  if (type === "checksum") {
    for (const t of (c.checksum_types as string[] | undefined) ?? []) {
      if (!(CHECKSUM_TYPES as readonly string[]).includes(t))
        out.push(["checksum_types", `checksum_types: expected any of ${CHECKSUM_TYPES.join(", ")}, got "${t}"`]);
    }
  }
  if (type === "shell-local") {
    const given = ["inline", "script", "scripts"].filter((k) => c[k] !== undefined);
    if (given.length !== 1)
      out.push([
        undefined,
        `shell-local needs exactly one of inline, script, scripts; got ${given.length ? given.join(" and ") : "none"}`,
      ]);
  }
  if (type === "upload" || type === "notify") {
    const url = c.url;
    if (type === "upload" && c.target === "http" && url === undefined)
      out.push(["url", 'upload: target "http" needs url (where each file goes)']);
    if (typeof url === "string" && !/^https?:\/\//.test(url))
      out.push(["url", `url: expected an http:// or https:// URL, got "${url}"`]);
    if ((c.retries as number) < 1)
      out.push(["retries", `retries: expected at least 1 attempt, got ${String(c.retries)}`]);
  }
  if (type === "upload") {
    if (c.token !== undefined && c.username !== undefined)
      out.push(["token", "upload: use either token or username/password, not both"]);
    if (c.password !== undefined && c.username === undefined) out.push(["password", "upload: password needs username"]);
    out.push(...(c.target === "s3" ? checkS3(c, raw) : wrongTarget(raw, S3_KEYS, "http")));
  }
  return out;
}

const S3_KEYS = [
  "bucket",
  "key",
  "endpoint",
  "region",
  "force_path_style",
  "access_key",
  "secret_key",
  "session_token",
  "part_size",
  "queue_size",
];
const HTTP_KEYS = ["url", "headers", "username", "password", "token"];
const MIN_PART_MIB = 5;
const MAX_PART_MIB = 5 * 1024;

/** Keys of the other target, named so a typo in `target` or a stray key is not silently ignored. */
function wrongTarget(raw: Record<string, unknown>, keys: string[], target: string): Array<[string, string]> {
  return keys.filter((k) => raw[k] !== undefined).map((k) => [k, `upload: ${k} is not used with target = "${target}"`]);
}

function checkS3(c: Record<string, unknown>, raw: Record<string, unknown>): Array<[string | undefined, string]> {
  const out: Array<[string | undefined, string]> = wrongTarget(raw, HTTP_KEYS, "s3");
  if (typeof c.bucket !== "string" || c.bucket === "") out.push(["bucket", 'upload: target "s3" needs bucket']);
  const part = c.part_size as number | undefined;
  if (part !== undefined && part < MIN_PART_MIB)
    out.push(["part_size", `upload: part_size must be at least 5M (S3's smallest part), got ${part}M`]);
  if (part !== undefined && part > MAX_PART_MIB)
    out.push(["part_size", `upload: part_size must be at most 5G (S3's largest part), got ${part}M`]);
  const queue = c.queue_size as number | undefined;
  if (queue !== undefined && queue < 1) out.push(["queue_size", `upload: queue_size must be at least 1, got ${queue}`]);
  const endpoint = c.endpoint;
  if (typeof endpoint === "string" && !/^https?:\/\/[^/]/.test(endpoint))
    out.push(["endpoint", `upload: endpoint: expected an http:// or https:// URL, got "${endpoint}"`]);
  if ((c.access_key === undefined) !== (c.secret_key === undefined))
    out.push([
      c.access_key === undefined ? "access_key" : "secret_key",
      "upload: access_key and secret_key go together",
    ]);
  if (c.session_token !== undefined && c.access_key === undefined)
    out.push(["session_token", "upload: session_token needs access_key and secret_key"]);
  return out;
}

/** Option values to mask in every output: `secret` options, AWS keys taken from the environment, URL passwords. */
export function postProcessorSecrets(configs: PostProcessorConfig[]): string[] {
  const out: string[] = [];
  for (const c of configs) {
    out.push(...secretValues(POST_PROCESSOR_TABLES[c.type], c));
    // Keys taken from the environment at upload time are masked too.
    if (c.type === "upload" && c.target === "s3" && c.secret_key === undefined) {
      out.push(...[process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN].filter((v): v is string => !!v));
    }
    if ((c.type === "upload" || c.type === "notify") && c.url !== undefined) {
      const password = urlPassword(c.url);
      if (password) out.push(password);
    }
  }
  return out;
}

/** The password in `https://user:password@host/...`, decoded; the artifact ID is that URL. */
function urlPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
