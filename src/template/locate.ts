// Finds where a key sits in TOML source text, for error messages. @iarna/toml returns
// plain values without positions, so we scan the text: the table header, then the key.

export interface Position {
  line: number;
  column: number;
}

/**
 * Position of a key path such as ["source", "disk_size"] or ["provisioner", 1, "script"]
 * (array-of-tables index). Falls back to the closest enclosing table, or undefined.
 */
export function locateKey(source: string, path: (string | number)[]): Position | undefined {
  const lines = source.split(/\r?\n/);
  const tables = path.filter((part, i) => i < path.length - 1 || typeof part === "number");
  const key = path[path.length - 1];
  let start = 0;
  let end = lines.length;
  if (tables.length > 0) {
    const range = findTable(lines, path);
    if (!range) return undefined;
    [start, end] = range;
    if (typeof key === "number" || path.length === 1) return { line: start, column: 1 };
  }
  const keyPattern = new RegExp(`^(\\s*)("?)${escapeRegExp(String(key))}\\2\\s*=`);
  for (let i = start; i < end; i++) {
    const match = keyPattern.exec(lines[i] ?? "");
    if (match) return { line: i + 1, column: (match[1]?.length ?? 0) + 1 };
  }
  return tables.length > 0 ? { line: start, column: 1 } : undefined;
}

/** Line range [headerLine (1-based), endExclusive (0-based index)] of the table holding the key. */
function findTable(lines: string[], path: (string | number)[]): [number, number] | undefined {
  // Build the header we look for: [a.b] or the n-th [[a]].
  const names: string[] = [];
  let arrayIndex: number | undefined;
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i];
    if (typeof part === "number") {
      arrayIndex = part;
      break;
    }
    if (part !== undefined) names.push(part);
  }
  const header = names.join(".");
  let seen = -1;
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] ?? "").trim();
    const isArray = text === `[[${header}]]`;
    const isTable = text === `[${header}]`;
    if (!(isArray || isTable)) continue;
    if (arrayIndex !== undefined && isArray && ++seen !== arrayIndex) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*\[/.test(lines[end] ?? "")) end++;
    return [i + 1, end];
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
