// Where each key and array item of a JSON text is (line and column), for messages about a
// legacy JSON template: JSON.parse gives values only.
import JSON5 from "json5";
import type { SourceLocation } from "../document.js";

/** JSON.stringify(path) -> line and column, for every object key and array item. */
export function jsonPositions(text: string, file: string): Map<string, SourceLocation> {
  const positions = new Map<string, SourceLocation>();
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  const here = (): SourceLocation => ({ file, line, column: pos - lineStart + 1 });
  const space = () => {
    while (pos < text.length && /\s/.test(text[pos] as string)) {
      if (text[pos] === "\n") {
        line++;
        lineStart = pos + 1;
      }
      pos++;
    }
  };
  const string = (): string => {
    const start = pos++;
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === "\\" ? 2 : 1;
    pos++;
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      return "";
    }
  };
  const value = (path: (string | number)[]): void => {
    space();
    const ch = text[pos];
    if (ch === "{") {
      pos++;
      for (;;) {
        space();
        if (text[pos] === "}" || pos >= text.length) break;
        const at = here();
        const key = string();
        positions.set(JSON.stringify([...path, key]), at);
        space();
        pos++; // ":"
        value([...path, key]);
        space();
        if (text[pos] === ",") pos++;
      }
      pos++;
    } else if (ch === "[") {
      pos++;
      for (let i = 0; ; i++) {
        space();
        if (text[pos] === "]" || pos >= text.length) break;
        positions.set(JSON.stringify([...path, i]), here());
        value([...path, i]);
        space();
        if (text[pos] === ",") pos++;
      }
      pos++;
    } else if (ch === '"') string();
    else while (pos < text.length && !/[\s,\]}]/.test(text[pos] as string)) pos++;
  };
  value([]);
  return positions;
}

/**
 * Line and column of a JSON.parse error. V8 gives "at position 42" for some errors only
 * ("Unexpected token '}', ... is not valid JSON" has none): then JSON5's parser, which
 * reports line and column, finds the same place (JSON5 accepts more than JSON, so it may
 * find nothing, and the message goes without a line).
 */
export function jsonErrorAt(text: string, error: Error): { line?: number; column?: number } {
  const position = /position (\d+)/.exec(error.message);
  if (position) {
    const before = text.slice(0, Number(position[1]));
    return { line: before.split("\n").length, column: Number(position[1]) - before.lastIndexOf("\n") };
  }
  try {
    JSON5.parse(text);
  } catch (json5Error) {
    const { lineNumber, columnNumber } = json5Error as { lineNumber?: number; columnNumber?: number };
    if (lineNumber !== undefined)
      return { line: lineNumber, ...(columnNumber === undefined ? {} : { column: columnNumber }) };
  }
  return {};
}
