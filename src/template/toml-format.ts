// The TOML front-end: a .toml template as the TemplateDocument the loader validates. Paths in
// it are relative to the template's folder.
import TOML from "@iarna/toml";
import { basename, dirname } from "node:path";
import { ConfigError, ConfigErrors } from "../core/errors.js";
import type { TemplateDocument } from "./document.js";
import { locateKey } from "./locate.js";
import { decodeUtf8, describeBadUtf8, readTemplateBytes } from "./read-text.js";

/** Reads and parses a TOML template; throws ConfigErrors (located) when it cannot. */
export function readTomlDocument(path: string, shown: string): TemplateDocument {
  const read = readTemplateBytes(path, shown);
  if ("problem" in read) throw new ConfigErrors([new ConfigError(read.problem, { file: shown })]);
  const decoded = decodeUtf8(read.bytes);
  if ("bad" in decoded) {
    const { line, column } = decoded.bad;
    throw new ConfigErrors([new ConfigError(describeBadUtf8(decoded.bad), { file: shown, line, column })]);
  }
  const text = decoded.text;
  let raw: Record<string, unknown>;
  try {
    raw = TOML.parse(text);
  } catch (error) {
    const e = error as Error & { line?: number; col?: number };
    const message = e.message.split("\n")[0]?.replace(/ at row \d+, col \d+, pos \d+:?$/, "") ?? "invalid TOML";
    const twice =
      message === "Can't redefine existing key" && e.line !== undefined
        ? describeRedefinition(text, e.line)
        : undefined;
    const where = twice ?? (e.line === undefined ? {} : { line: e.line + 1, column: (e.col ?? 0) + 1 });
    throw new ConfigErrors([new ConfigError(`TOML syntax: ${twice?.message ?? message}`, { file: shown, ...where })]);
  }
  return {
    raw,
    locate: (keyPath) => ({ file: shown, ...locateKey(text, keyPath) }),
    shown,
    templatePath: path,
    templateDir: dirname(path),
    baseDir: dirname(path),
    defaultName: basename(path).replace(/\.toml$/, ""),
    warnings: [],
  };
}

/**
 * @iarna/toml reports "Can't redefine existing key" at the end of the second value, even for a
 * table. Names the key or table instead, at its start, and where it was first set when that is plain.
 */
function describeRedefinition(
  text: string,
  errorLine: number,
): { message: string; line: number; column: number } | undefined {
  const lines = text.split(/\r?\n/);
  const header = (line: string) => /^(\s*)\[\[?\s*([^[\],=]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
  const key = (line: string) => /^(\s*)(?:"([^"]*)"|'([^']*)'|([\w-]+))\s*=/.exec(line);
  // The error sits at the end of the value, which may span lines: walk back to its key or header.
  for (let i = Math.min(errorLine, lines.length - 1); i >= 0; i--) {
    const table = header(lines[i] ?? "");
    if (table) {
      const first = lines.findIndex((line, j) => j < i && header(line)?.[2] === table[2]);
      return {
        message: `duplicate table [${table[2]}]${first >= 0 ? ` (first defined on line ${first + 1})` : ""}`,
        line: i + 1,
        column: (table[1]?.length ?? 0) + 1,
      };
    }
    const assignment = key(lines[i] ?? "");
    if (!assignment) continue;
    const name = assignment[2] ?? assignment[3] ?? assignment[4] ?? "";
    let first = -1;
    for (let j = i - 1; j >= 0 && !header(lines[j] ?? ""); j--) {
      const earlier = key(lines[j] ?? "");
      if (earlier && (earlier[2] ?? earlier[3] ?? earlier[4]) === name) first = j;
    }
    return {
      message: `duplicate key "${name}"${first >= 0 ? ` (first set on line ${first + 1})` : ""}`,
      line: i + 1,
      column: (assignment[1]?.length ?? 0) + 1,
    };
  }
  return undefined;
}
