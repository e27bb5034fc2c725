// Writes TOML for `tsimg import`: tables in a fixed order, comments above keys, long
// multi-line strings (a kickstart) as """ blocks. Just what a template needs.

export interface TomlSection {
  /** "image", "variables.name", "source", or "[provisioner]" for an array-of-tables entry. */
  header: string;
  /** Comment lines above the header. */
  comments?: string[];
  entries: { key: string; value: unknown; comments?: string[] }[];
}

/** The sections as TOML text. Object values become sub-tables after the scalar keys. */
export function writeToml(header: string[], sections: TomlSection[]): string {
  const out: string[] = header.map((line) => `# ${line}`.trimEnd());
  for (const section of sections) {
    const scalars = section.entries.filter((e) => !isTable(e.value));
    const tables = section.entries.filter((e) => isTable(e.value));
    out.push("");
    for (const line of section.comments ?? []) out.push(`# ${line}`.trimEnd());
    const array = section.header.startsWith("[");
    out.push(array ? `[${section.header}]` : `[${section.header}]`);
    for (const entry of scalars) {
      for (const line of entry.comments ?? []) out.push(`# ${line}`.trimEnd());
      out.push(`${key(entry.key)} = ${value(entry.value)}`);
    }
    for (const entry of tables) {
      const name = `${array ? section.header.slice(1, -1) : section.header}.${key(entry.key)}`;
      out.push("");
      for (const line of entry.comments ?? []) out.push(`# ${line}`.trimEnd());
      out.push(`[${name}]`);
      for (const [k, v] of Object.entries(entry.value as Record<string, unknown>)) out.push(`${key(k)} = ${value(v)}`);
    }
  }
  return `${out.join("\n")}\n`;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function key(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
}

/** A TOML value: JSON's string escapes are TOML's basic-string ones. */
export function value(v: unknown): string {
  if (typeof v === "string") {
    if (v.includes("\n") && v.length > 80) {
      // A multi-line basic string: escape backslashes and quotes, keep new lines.
      const body = v
        .replace(/\\/g, "\\\\")
        .replace(/"/g, '\\"')
        // eslint-disable-next-line no-control-regex -- control characters are what must be escaped
        .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
      return `"""\n${body}"""`;
    }
    return JSON.stringify(v);
  }
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(value).join(", ")}]`;
  if (isTable(v))
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${key(k)} = ${value(x)}`)
      .join(", ")} }`;
  throw new Error(`no TOML form for ${String(v)}`);
}
