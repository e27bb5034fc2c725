// Load-time interpolation: ${var.name}, ${env("X")}, ${file("path")}, ${timestamp()}.
// Run-time placeholders ({{ .HTTPIP }} ...) are left alone here; see runtime-vars.ts.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { closest } from "../core/did-you-mean.js";
import { decodeUtf8, describeBadUtf8 } from "./read-text.js";

export interface InterpolationScope {
  variables: Map<string, string>;
  /** Directory that file() paths are relative to (the template's). */
  baseDir: string;
  env: NodeJS.ProcessEnv;
  /** Fixed once per load so every ${timestamp()} agrees. */
  now: Date;
}

/** Thrown with a message only; the caller adds file, line and key. */
export class InterpolationError extends Error {}

const FUNCTIONS = ["env", "file", "timestamp"];

/** Replaces every ${...} in text ("$${" is a literal "${", as in HCL); throws InterpolationError on the first bad expression. */
export function interpolate(text: string, scope: InterpolationScope): string {
  let out = "";
  let index = 0;
  while (index < text.length) {
    const start = text.indexOf("${", index);
    if (start < 0) break;
    if (start > index && text[start - 1] === "$") {
      out += `${text.slice(index, start - 1)}\${`; // "$${": the first "$" escapes the rest
      index = start + 2;
      continue;
    }
    const end = findClose(text, start + 2);
    if (end < 0) throw new InterpolationError(`unclosed "\${" in "${text}"`);
    out += text.slice(index, start) + evaluate(text.slice(start + 2, end).trim(), scope);
    index = end + 1;
  }
  return out + text.slice(index);
}

/** Index of the "}" that closes an expression starting at `from`, skipping quoted strings. */
function findClose(text: string, from: number): number {
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === "\\") i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === "}") return i;
  }
  return -1;
}

function evaluate(expression: string, scope: InterpolationScope): string {
  const variable = /^var\.([A-Za-z_][\w-]*)$/.exec(expression);
  if (variable) {
    const name = variable[1] as string;
    const value = scope.variables.get(name);
    if (value === undefined) {
      const hint = closest(name, [...scope.variables.keys()]);
      throw new InterpolationError(`unknown variable "var.${name}"${hint ? `; did you mean "var.${hint}"?` : ""}`);
    }
    return value;
  }
  const call = /^([A-Za-z_]\w*)\s*\((.*)\)$/s.exec(expression);
  if (!call)
    throw new InterpolationError(`cannot understand "\${${expression}}": expected var.NAME or a function call`);
  const name = call[1] as string;
  const args = parseArgs(call[2] as string, expression);
  switch (name) {
    case "env":
      expectArgs(name, args, 1);
      return scope.env[args[0] as string] ?? "";
    case "file": {
      expectArgs(name, args, 1);
      const path = resolve(scope.baseDir, args[0] as string);
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch {
        throw new InterpolationError(`file("${args[0]}"): no such file ${path}`);
      }
      // A Latin-1 kickstart must not reach the guest with U+FFFD where a password's "é" was.
      const decoded = decodeUtf8(bytes);
      if ("bad" in decoded) throw new InterpolationError(`file("${args[0]}"): ${describeBadUtf8(decoded.bad, true)}`);
      return decoded.text;
    }
    case "timestamp":
      expectArgs(name, args, 0);
      return scope.now.toISOString().replace(/\.\d+Z$/, "Z");
    default: {
      const hint = closest(name, FUNCTIONS);
      throw new InterpolationError(
        `unknown function "${name}()"${hint ? `; did you mean "${hint}()"?` : ""}; tsimg knows ${FUNCTIONS.map((f) => `${f}()`).join(", ")}`,
      );
    }
  }
}

function parseArgs(text: string, expression: string): string[] {
  const args: string[] = [];
  const pattern = /\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let index = 0;
  while (index < text.trim().length) {
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (!match)
      throw new InterpolationError(`cannot understand the arguments of "\${${expression}}": use double-quoted strings`);
    args.push((match[1] as string).replace(/\\(.)/g, "$1"));
    index = pattern.lastIndex;
  }
  return args;
}

function expectArgs(name: string, args: string[], count: number): void {
  if (args.length !== count)
    throw new InterpolationError(`${name}() takes ${count} argument${count === 1 ? "" : "s"}, got ${args.length}`);
}
