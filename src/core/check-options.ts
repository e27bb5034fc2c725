// Checks one TOML table against an option table: unknown keys (with did-you-mean),
// types, enums, required keys; converts sizes to MiB, durations to ms and paths to
// absolute paths. Collects every problem instead of stopping at the first.
import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { closest } from "./did-you-mean.js";
import { MAX_DISK_MIB, type CheckedOf, type OptionSpec, type OptionTable, type OptionType } from "./options.js";
import { formatSizeMiB, parseDurationMs, parseSizeMiB } from "./units.js";

/** One problem with a template, at a key path; the loader turns it into a ConfigError with a position. */
export interface Problem {
  path: (string | number)[];
  message: string;
  hint?: string;
  /** A build input that is not there (yet): a warning for validate, fatal for build. */
  missingInput?: boolean;
}

/**
 * Validates `raw` against `specs`; returns the normalised table (defaults filled in). A key
 * with a problem is left out, so callers use the result as a config only when no problem was added.
 */
export function checkTable<T extends OptionTable>(
  raw: Record<string, unknown>,
  specs: T,
  path: (string | number)[],
  baseDir: string,
  problems: Problem[],
): CheckedOf<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const spec = specs[key];
    if (!spec) {
      const hint = closest(key, Object.keys(specs));
      problems.push({
        path: [...path, key],
        message: `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : ""}`,
      });
      continue;
    }
    const converted = convert(value, spec, baseDir);
    if ("error" in converted) problems.push({ path: [...path, key], message: `${key}: ${converted.error}` });
    else out[key] = converted.value;
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (key in out || key in raw) continue;
    if (spec.required)
      problems.push({
        path: [...path],
        message: `missing required key "${key}"${spec.doc ? ` (${firstSentence(spec.doc)})` : ""}`,
      });
    else if (spec.default !== undefined) {
      const converted = convert(spec.default, spec, baseDir);
      if (!("error" in converted)) out[key] = converted.value;
    }
  }
  // What the loop above guarantees for every key without a problem.
  return out as CheckedOf<T>;
}

/** "http_port_min (9000) is greater than http_port_max (8000)", for each [min, max] pair. */
export function checkMinMax<C extends Record<K, number>, K extends string>(
  config: C,
  pairs: readonly (readonly [K, K])[],
  table: string,
  problems: Problem[],
): void {
  for (const [min, max] of pairs) {
    if (config[min] > config[max])
      problems.push({ path: [table, min], message: `${min} (${config[min]}) is greater than ${max} (${config[max]})` });
  }
}

type Converted = { value: unknown } | { error: string };

function convert(value: unknown, spec: OptionSpec, baseDir: string): Converted {
  // Packer documents boot_wait = "-1s" as "no wait": a negative duration is 0 where allowed.
  if (
    spec.negativeIsZero &&
    typeof value === "string" &&
    value.trim().startsWith("-") &&
    parseDurationMs(value.trim().slice(1)) !== undefined
  ) {
    return { value: 0 };
  }
  const converted = convertType(value, spec.type, baseDir);
  if ("error" in converted) return converted;
  const size = spec.type === "size" || spec.type === "size[]";
  // A size of 0 parses (so the message can say why it is refused), but no disk or memory can be
  // empty; and none can be larger than the largest disk.
  const range = { min: spec.min ?? (size ? 1 : undefined), max: spec.max ?? (size ? MAX_DISK_MIB : undefined) };
  if (Array.isArray(converted.value) && Array.isArray(value)) {
    for (const [i, item] of converted.value.entries()) {
      const error = outOfRange(item, value[i], range, size);
      if (error) return { error: `item ${i + 1}: ${error}` };
    }
    return converted;
  }
  const error = outOfRange(converted.value, value, range, size);
  return error ? { error } : converted;
}

/** "must be at least 1, got -3"; sizes are compared in MiB but shown as written and in units. */
function outOfRange(
  value: unknown,
  written: unknown,
  range: { min: number | undefined; max: number | undefined },
  size: boolean,
): string | undefined {
  if (typeof value !== "number") return undefined;
  const { min, max } = range;
  if ((min === undefined || value >= min) && (max === undefined || value <= max)) return undefined;
  const limit = (n: number) => (size ? formatSizeMiB(n) : String(n));
  const got = `got ${show(written)}`;
  if (min !== undefined && max !== undefined && !size) return `must be from ${limit(min)} to ${limit(max)}, ${got}`;
  return min !== undefined && value < min
    ? `must be at least ${limit(min)}, ${got}`
    : `must be at most ${limit(max ?? 0)}, ${got}`;
}

function convertType(value: unknown, type: OptionType, baseDir: string): Converted {
  const got = `got ${show(value)} (${describeType(value)})`;
  if (typeof type === "object") {
    return typeof value === "string" && type.enum.includes(value)
      ? { value }
      : { error: `expected one of ${type.enum.map((e) => `"${e}"`).join(", ")}, ${got}` };
  }
  switch (type) {
    case "string":
      return typeof value === "string" ? { value } : { error: `expected a string, ${got}` };
    case "path":
      return typeof value === "string" && value !== ""
        ? { value: resolvePath(value, baseDir) }
        : { error: `expected a path (string), ${got}` };
    case "integer":
      return Number.isInteger(value) ? { value } : { error: `expected a whole number, ${got}` };
    case "boolean":
      return typeof value === "boolean" ? { value } : { error: `expected true or false, ${got}` };
    case "size": {
      const mib = typeof value === "string" || typeof value === "number" ? parseSizeMiB(value) : undefined;
      return mib === undefined
        ? { error: `expected a size like "40G", "512M" or a number of MiB, ${got}` }
        : { value: mib };
    }
    case "duration": {
      const ms = typeof value === "string" ? parseDurationMs(value) : undefined;
      return ms === undefined ? { error: `expected a duration like "30s", "5m" or "1h30m", ${got}` } : { value: ms };
    }
    case "string[]":
    case "path[]":
    case "integer[]":
    case "size[]": {
      if (!Array.isArray(value)) return { error: `expected a list, ${got}` };
      const itemType = type.slice(0, -2) as "string" | "path" | "integer" | "size";
      const items: unknown[] = [];
      for (const [i, item] of value.entries()) {
        const converted = convertType(item, itemType, baseDir);
        if ("error" in converted) return { error: `item ${i + 1}: ${converted.error}` };
        items.push(converted.value);
      }
      return { value: items };
    }
    case "string[][]": {
      const ok =
        Array.isArray(value) &&
        value.every((row) => Array.isArray(row) && row.every((cell) => typeof cell === "string"));
      return ok ? { value } : { error: `expected a list of lists of strings like [["-m", "4096"]], ${got}` };
    }
    case "table": {
      const ok = isPlainTable(value) && Object.values(value).every((v) => typeof v === "string");
      return ok ? { value } : { error: `expected a table of strings, ${got}` };
    }
    case "table of string[]": {
      const ok =
        isPlainTable(value) &&
        Object.values(value).every((v) => Array.isArray(v) && v.every((s) => typeof s === "string"));
      return ok
        ? { value }
        : { error: `expected a table of lists of strings like { convert = ["-o", "cluster_size=2M"] }, ${got}` };
    }
  }
}

/** A path as written in a template (or a file:// URL), made absolute against the template's directory. */
export function resolvePath(value: string, baseDir: string): string {
  const path = value.startsWith("file://") ? decodeURIComponent(new URL(value).pathname) : value;
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** A TOML table: not a list, not a date, not null. */
export function isPlainTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** An existing regular file (after symlinks). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** An existing directory (after symlinks). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return "list";
  if (value instanceof Date) return "date";
  if (isPlainTable(value)) return "table";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "float";
  return typeof value;
}

function show(value: unknown): string {
  // TOML's own words for the floats JSON has none for (JSON.stringify says "null").
  if (typeof value === "number" && !Number.isFinite(value))
    return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  const text = JSON.stringify(value);
  return text && text.length > 40 ? `${text.slice(0, 37)}...` : (text ?? String(value));
}

function firstSentence(text: string): string {
  const end = text.indexOf(". ");
  return (end > 0 ? text.slice(0, end) : text).replace(/\.$/, "");
}
