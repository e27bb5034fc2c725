// A template's bytes as text. TOML is UTF-8; Node's "utf8" decoding would turn a Latin-1
// "é" into U+FFFD without a word, and a password or a path would then silently differ
// from what the author wrote. So bytes that are not UTF-8 are an error, located. And a path
// that is a directory or a multi-GiB file (the ISO named by mistake) says so, unread.
import { readFileSync, statSync } from "node:fs";

/** Largest template read: real ones are a few KiB, so anything this big is the wrong file (an ISO) and is not read into memory. */
export const MAX_TEMPLATE_BYTES = 4 * 1024 * 1024;

/** A template file's bytes, or why it cannot be read (`shown` is its name in the message). */
export function readTemplateBytes(path: string, shown: string): { bytes: Buffer } | { problem: string } {
  try {
    const info = statSync(path);
    if (info.isDirectory()) return { problem: `cannot read template: ${shown} is a directory (name a .toml file)` };
    if (info.size > MAX_TEMPLATE_BYTES) {
      return {
        problem: `${shown} is not a template: ${info.size} bytes, over the ${MAX_TEMPLATE_BYTES / 1024 / 1024} MiB a template may have (is it the ISO?)`,
      };
    }
    return { bytes: readFileSync(path) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { problem: `cannot read template: no such file ${shown}` };
    if (code === "EACCES" || code === "EPERM") return { problem: `cannot read template ${shown}: permission denied` };
    return { problem: `cannot read template ${shown}: ${(error as Error).message}` };
  }
}

/** Where the first byte that is not UTF-8 is, and which byte it is. */
export interface BadUtf8 {
  line: number;
  column: number;
  byte: number;
}

/** The bytes as text (a leading BOM dropped), or where they stop being UTF-8. */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { bad: BadUtf8 } {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return { bad: findBadUtf8(bytes) };
  }
}

/** "not UTF-8: byte 0xE9 is not valid here (...)"; `at` adds the line and column, for messages that carry no position of their own. */
export function describeBadUtf8(bad: BadUtf8, at = false): string {
  const hex = `0x${bad.byte.toString(16).toUpperCase().padStart(2, "0")}`;
  if (at) return `not UTF-8: byte ${hex} on line ${bad.line}, column ${bad.column} (save the file as UTF-8)`;
  return `not UTF-8: byte ${hex} is not valid here (TOML files must be UTF-8: save the file as UTF-8)`;
}

/** The file's text, or an Error whose message says where it stops being UTF-8. */
export function readUtf8(bytes: Uint8Array): string {
  const decoded = decodeUtf8(bytes);
  if ("bad" in decoded) throw new Error(describeBadUtf8(decoded.bad, true));
  return decoded.text;
}

/**
 * Feeds the bytes one at a time to a streaming decoder, which throws at the first byte that
 * cannot start or continue a character; columns count characters, as editors do. Only runs
 * on the error path, so its speed does not matter.
 */
function findBadUtf8(bytes: Uint8Array): BadUtf8 {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let line = 1;
  let column = 1;
  // The first byte of the character being decoded: an error may only show at a later byte.
  let start = { line, column, index: 0 };
  for (let i = 0; i < bytes.length; i++) {
    let out: string;
    try {
      out = decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return { line: start.line, column: start.column, byte: bytes[start.index] ?? 0 };
    }
    for (const char of out) {
      if (char === "\uFEFF" && i < 3) continue; // the BOM: no column in an editor
      if (char === "\n") {
        line++;
        column = 1;
      } else column++;
    }
    if (out !== "") start = { line, column, index: i + 1 };
  }
  // Input ending half way through a character.
  return { line: start.line, column: start.column, byte: bytes[start.index] ?? 0 };
}
