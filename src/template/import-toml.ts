// `tsimg import`: a Packer template (HCL2 or JSON) as the equivalent TOML template, for teams
// that want to move. The template is loaded twice: once as it is, and once with each string
// variable set to a marker. A value that holds markers (and gives the real value once they are
// replaced) is written with ${var.name}, so variables stay variables and secrets stay out of
// the file; any other value is written as it evaluates. A value that is exactly a file read
// with file() is written as ${file("...")}. Relative paths are rewritten relative to the new
// file, since TOML paths start at the template's folder and Packer's at the working directory.
import { dirname, isAbsolute, relative, resolve } from "node:path";
import type { OptionTable, OptionType } from "../core/options.js";
import { ConfigError, ConfigErrors } from "../core/errors.js";
import type { TemplateDocument } from "./document.js";
import { readDocument, templateFormat } from "./formats.js";
import type { OptionTypes, PackerInputs } from "./packer/inputs.js";
import { writeToml, type TomlSection } from "./toml-writer.js";

const MARK_START = "\u{F0000}";
const MARK_END = "\u{F0001}";
/** A marker, with the variable's name captured (global: for replace and split only). */
const MARKED = new RegExp(`${MARK_START}([^${MARK_END}]*)${MARK_END}`, "gu");

/** Keys that hold local paths although their type is "string" (URLs and globs included). */
const SOURCE_PATHS = ["iso_url", "iso_urls", "cd_files", "floppy_files"];

export interface ImportResult {
  toml: string;
  /** Things the user should check (a value written as it evaluated, a variable without a TOML form). */
  notes: string[];
}

/** The TOML equivalent of the Packer template at `templatePath`, to be written at `outPath`. */
export function importTemplate(
  templatePath: string,
  outPath: string,
  inputs: PackerInputs,
  types: OptionTypes,
  /** One of several qemu builds (chosen with inputs.only): "<image>-<source>", as tsimg build names it. */
  buildName?: string,
): ImportResult {
  if (templateFormat(resolve(templatePath)) === "toml")
    throw new ConfigErrors([new ConfigError(`${templatePath} is a TOML template already: nothing to import`)]);
  const now = inputs.now ?? new Date();
  const doc = readDocument(templatePath, { ...inputs, now }, types);
  const origin = doc.origin;
  if (!origin) throw new Error("a Packer front-end gave no origin");
  const notes: string[] = doc.warnings.map((w) => `${w.location}: ${w.message}`);

  // The same template with each string variable as a marker: where the markers land is where the variables are used.
  const marked = origin.variables.filter((v) => v.type === "string" || v.type === "any");
  let markedDoc: TemplateDocument | undefined;
  try {
    const markers = Object.fromEntries(marked.map((v) => [v.name, `${MARK_START}${v.name}${MARK_END}`]));
    markedDoc = readDocument(templatePath, { ...inputs, now, vars: { ...inputs.vars, ...markers } }, types);
  } catch {
    notes.push("variables are written as their values: the template cannot be evaluated with placeholders for them");
  }
  const values = new Map([...(doc.evaluated?.variables ?? new Map())].map(([name, v]) => [name, v.value]));
  const outDir = dirname(resolve(outPath));
  const cwd = process.cwd();
  const files = new Map([...origin.filesRead].map(([path, text]) => [text, path]));
  const writer = new ValueWriter(values, files, outDir, cwd);

  const sections: TomlSection[] = [];
  const image = { ...(doc.raw.image as Record<string, unknown>) };
  image.name ??= doc.defaultName;
  if (buildName) image.name = `${String(image.name)}-${buildName}`;
  sections.push({ header: "image", entries: Object.entries(image).map(([key, value]) => ({ key, value })) });
  for (const v of origin.variables) {
    if (!["string", "number", "bool"].includes(v.type)) {
      notes.push(`variable "${v.name}" (${v.type}) has no TOML form: its value is written where it is used`);
      continue;
    }
    const entries: TomlSection["entries"] = [];
    if (v.type !== "string") entries.push({ key: "type", value: v.type });
    if (v.description !== undefined) entries.push({ key: "description", value: v.description });
    // The default is the value the variable had at import (from *.auto.pkrvars.hcl, -var-file,
    // -var), so the TOML alone gives the same plan; a sensitive one keeps the template's own,
    // unless the template's folder gave it (then it is in the repository already).
    const declared = v.default === undefined || v.default === null ? undefined : String(v.default);
    const value = v.sensitive && !v.fromTemplateFolder ? declared : (values.get(v.name) ?? declared);
    if (value !== undefined)
      entries.push({
        key: "default",
        value,
        ...(value === declared
          ? {}
          : {
              comments: [
                `the value given to tsimg import (the template's default: ${declared === undefined ? "none" : JSON.stringify(declared)})`,
              ],
            }),
      });
    if (v.sensitive) entries.push({ key: "sensitive", value: true });
    const above = origin.comments.get(JSON.stringify(["variables", v.name]));
    sections.push({ header: `variables.${quoteKey(v.name)}`, entries, ...(above ? { comments: above } : {}) });
  }
  const comments = (path: (string | number)[]) => origin.comments.get(JSON.stringify(path));
  const table = (
    name: string,
    path: (string | number)[],
    options: OptionTable | undefined,
    extraPaths: string[] = [],
  ) => {
    const raw = pick(doc.raw, path) as Record<string, unknown>;
    const markedRaw = pick(markedDoc?.raw, path) as Record<string, unknown> | undefined;
    const direction = raw.direction === "download";
    return {
      header: name,
      ...(comments(path) ? { comments: comments(path) } : {}),
      entries: Object.entries(raw).map(([key, value]) => {
        const isPath =
          isPathType(options?.[key]?.type) ||
          extraPaths.includes(key) ||
          (key === "iso_checksum" && typeof value === "string" && value.startsWith("file:")) ||
          (name === "[provisioner]" && raw.type === "file" && key === (direction ? "destination" : "source"));
        return {
          key,
          value: writer.write(value, markedRaw?.[key], isPath),
          ...(comments([...path, key]) ? { comments: comments([...path, key]) } : {}),
        };
      }),
    };
  };
  sections.push(table("source", ["source"], types.source.options, SOURCE_PATHS));
  (doc.raw.provisioner as Record<string, unknown>[]).forEach((p, i) =>
    sections.push(table("[provisioner]", ["provisioner", i], types.provisioners.types[String(p.type)])),
  );
  (doc.raw.post_processor as Record<string, unknown>[]).forEach((p, i) =>
    sections.push(table("[post_processor]", ["post_processor", i], types.postProcessors.types[String(p.type)])),
  );
  const toml = writeToml(header(templatePath, outDir), sections);
  // A secret given on the command line (not the template's own default) must not end up in the file.
  for (const v of origin.variables) {
    const value = values.get(v.name);
    if (
      v.sensitive &&
      !v.fromTemplateFolder &&
      value &&
      value.length >= 3 &&
      value !== String(v.default ?? "") &&
      toml.includes(value)
    )
      throw new ConfigErrors([
        new ConfigError(
          `variable "${v.name}" is sensitive and its value would be written into the TOML file (a value tsimg cannot express with \${var.${v.name}}): import without -var for it`,
        ),
      ]);
  }
  return { toml, notes };
}

function header(templatePath: string, outDir: string): string[] {
  return [
    `Imported from ${relative(outDir, resolve(templatePath)) || templatePath} by "tsimg import".`,
    "Paths are relative to this file; output_directory to the working directory.",
  ];
}

function pick(root: unknown, path: (string | number)[]): unknown {
  let node = root;
  for (const part of path) node = (node as Record<string | number, unknown> | undefined)?.[part];
  return node ?? {};
}

function isPathType(type: OptionType | undefined): boolean {
  return type === "path" || type === "path[]";
}

function quoteKey(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
}

/** One value as TOML will read it back: ${var.x} where a variable was used, "$${" for a literal "${", paths from the new file. */
class ValueWriter {
  constructor(
    private readonly variables: Map<string, string>,
    private readonly files: Map<string, string>,
    private readonly outDir: string,
    private readonly cwd: string,
  ) {}

  write(value: unknown, marked: unknown, isPath: boolean): unknown {
    if (Array.isArray(value))
      return value.map((item, i) => this.write(item, Array.isArray(marked) ? marked[i] : undefined, isPath));
    if (typeof value === "object" && value !== null) {
      const table = marked as Record<string, unknown> | undefined;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.write(v, table?.[k], false)]));
    }
    if (typeof value !== "string") return value;
    if (isPath) return escape(this.path(value));
    const file = this.files.get(value);
    if (file && value.length > 0) return `\${file(${JSON.stringify(this.path(relative(this.cwd, file)))})}`;
    if (typeof marked === "string" && marked.includes(MARK_START)) {
      const real = marked.replace(MARKED, (_, name: string) => this.variables.get(name) ?? "");
      if (real === value)
        return marked
          .split(MARKED)
          .map((part, i) => (i % 2 === 1 ? `\${var.${part}}` : escape(part)))
          .join("");
    }
    return escape(value);
  }

  /** A path relative to the working directory (Packer's) as one relative to the new file (TOML's). */
  private path(value: string): string {
    const prefix = value.startsWith("file:") ? "file:" : "";
    const path = value.slice(prefix.length);
    if (path === "" || isAbsolute(path) || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return value;
    return prefix + (relative(this.outDir, resolve(this.cwd, path)) || ".");
  }
}

/** TOML templates interpolate "${...}": a literal one is written "$${...}". */
function escape(text: string): string {
  return text.replace(/\$\{/g, () => "$${"); // a function: in a replacement string, "$$" is one "$"
}
