// Finds where a key sits in TOML source text, for error messages. @iarna/toml returns
// plain values without positions, so we scan the text: the table header, then the key.

export interface Position {
  line: number;
  column: number;
}

/**
 * Position of a key path such as ["source", "disk_size"] or ["provisioner", 1, "script"]
 * (array-of-tables index). A path that names a table ("source", ["provisioner", 1],
 * ["variables", "x"] written as [variables.x]) is its header line. Falls back to the
 * closest enclosing table, or undefined.
 */
export function locateKey(source: string, path: (string | number)[]): Position | undefined {
  if (path.length === 0) return undefined;
  const lines = source.split(/\r?\n/);
  const own = findTable(lines, path);
  if (own) return { line: own[0], column: 1 };
  const key = path[path.length - 1];
  const parent = path.slice(0, -1);
  // Top-level keys sit before the first table header.
  let start = 0;
  let end = lines.findIndex(isHeader);
  if (end < 0) end = lines.length;
  if (parent.length > 0) {
    const range = findTable(lines, parent);
    if (!range) return undefined;
    [start, end] = range;
  }
  if (typeof key === "string") {
    const keyPattern = new RegExp(`^(\\s*)("?)${escapeRegExp(key)}\\2\\s*=`);
    for (let i = start; i < end; i++) {
      const match = keyPattern.exec(lines[i] ?? "");
      if (match) return { line: i + 1, column: (match[1]?.length ?? 0) + 1 };
    }
  }
  return parent.length > 0 ? { line: start, column: 1 } : undefined;
}

/**
 * Line range [headerLine (1-based), endExclusive (0-based index)] of the table a path
 * names: [a.b] for ["a", "b"], the n-th [[a]] for ["a", n]. Undefined if there is none.
 */
function findTable(lines: string[], path: (string | number)[]): [number, number] | undefined {
  const indexAt = path.findIndex((part) => typeof part === "number");
  // Tables inside an array-of-tables entry ([[a]] then [a.b]) are not looked for.
  if (indexAt >= 0 && indexAt !== path.length - 1) return undefined;
  const arrayIndex = indexAt >= 0 ? (path[indexAt] as number) : undefined;
  const header = path.slice(0, indexAt >= 0 ? indexAt : path.length).join(".");
  if (header === "") return undefined;
  let seen = -1;
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] ?? "").replace(/#[^\]"']*$/, "").trim();
    const isArray = text === `[[${header}]]`;
    const isTable = text === `[${header}]`;
    if (!(isArray || (isTable && arrayIndex === undefined))) continue;
    if (arrayIndex !== undefined && ++seen !== arrayIndex) continue;
    let end = i + 1;
    while (end < lines.length && !isHeader(lines[end] ?? "")) end++;
    return [i + 1, end];
  }
  return undefined;
}

/** A table header line, `[a.b]` or `[[a]]`; not a line of a multi-line array such as `["-m", "4096"],`. */
function isHeader(line: string): boolean {
  return /^\s*\[\[?[^[\],=]+\]\]?\s*(#.*)?$/.test(line);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
