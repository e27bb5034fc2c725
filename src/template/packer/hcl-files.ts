// The files a Packer HCL2 template is made of, read and parsed as `packer build` reads them:
// one *.pkr.hcl (or *.pkr.json) file, or every *.pkr.hcl and *.pkr.json in a folder plus
// its *.auto.pkrvars.hcl and .json (in name order). Each comes back with hcl2json's values and its outline (positions, order, comments).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { ConfigError, ConfigErrors } from "../../core/errors.js";
import { decodeUtf8, describeBadUtf8, MAX_TEMPLATE_BYTES } from "../read-text.js";
import { outlineHcl, type OutlineBlock } from "./hcl/outline.js";
import { readJsonSyntax, readJsonVarFile } from "./hcl/json-syntax.js";
import { parseHclFiles, type ParsedHcl } from "./hcl/parse-files.js";

export interface HclSourceFile {
  /** Absolute path. */
  path: string;
  /** As errors show it: relative to the working directory when below it. */
  shown: string;
  text: string;
  json: Record<string, unknown>;
  outline: OutlineBlock;
}

export interface HclTemplateFiles {
  /** The folder: path.root. */
  root: string;
  templates: HclSourceFile[];
  /** *.auto.pkrvars.hcl in the folder, in name order. */
  autoVarFiles: HclSourceFile[];
}

/** HCL2 in JSON syntax: *.pkr.json, *.pkrvars.json. */
function isJsonSyntax(path: string): boolean {
  return /\.(pkr|pkrvars)\.json$/i.test(path);
}

/** How a path is shown in messages. */
export function shownPath(path: string): string {
  const fromCwd = relative(process.cwd(), path);
  return fromCwd && !fromCwd.startsWith("..") ? fromCwd : path;
}

/** Reads a .pkr.hcl file or a folder of them; throws ConfigErrors (located) when one cannot be read or parsed. */
export function readHclTemplate(path: string): HclTemplateFiles {
  const folder = statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  if (!folder) return { root: dirname(path), templates: readHclFiles([path]), autoVarFiles: [] };
  const names = readdirSync(path).sort();
  const templates = names.filter((n) => /\.pkr\.(hcl|json)$/.test(n)).map((n) => join(path, n));
  if (templates.length === 0)
    throw new ConfigErrors([
      new ConfigError(
        `${shownPath(path)} is a folder without *.pkr.hcl or *.pkr.json files: name a template file or a folder of them`,
        { file: shownPath(path) },
      ),
    ]);
  const autoVars = names.filter((n) => /\.auto\.pkrvars\.(hcl|json)$/.test(n)).map((n) => join(path, n));
  const parsed = readHclFiles([...templates, ...autoVars]);
  return { root: path, templates: parsed.slice(0, templates.length), autoVarFiles: parsed.slice(templates.length) };
}

/** Reads and parses HCL files (templates or .pkrvars.hcl); every unreadable or invalid one is reported. */
export function readHclFiles(paths: string[]): HclSourceFile[] {
  const errors: ConfigError[] = [];
  const texts = paths.map((path) => {
    const shown = shownPath(path);
    try {
      const size = statSync(path).size;
      if (size > MAX_TEMPLATE_BYTES) throw new Error(`${size} bytes: that is not a template`);
      const decoded = decodeUtf8(readFileSync(path));
      if ("bad" in decoded) {
        const { line, column } = decoded.bad;
        errors.push(
          new ConfigError(describeBadUtf8(decoded.bad).replace("TOML files", "templates"), {
            file: shown,
            line,
            column,
          }),
        );
        return { path, shown, text: "" };
      }
      return { path, shown, text: decoded.text };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file" : (error as Error).message;
      errors.push(
        new ConfigError(`cannot read ${basename(path).includes("pkrvars") ? "variables file" : "template"}: ${why}`, {
          file: shown,
        }),
      );
      return { path, shown, text: "" };
    }
  });
  if (errors.length > 0) throw new ConfigErrors(errors);
  // Native syntax goes to hcl2json in one call; JSON syntax is read here, in file order all the same.
  const native = texts.filter((t) => !isJsonSyntax(t.path));
  const results = native.length > 0 ? parseHclFiles(native.map((t) => ({ name: t.shown, text: t.text }))) : [];
  const files: HclSourceFile[] = [];
  for (const file of texts) {
    try {
      if (isJsonSyntax(file.path)) {
        const read = /\.pkrvars\.json$/i.test(file.path) ? readJsonVarFile : readJsonSyntax;
        files.push({ ...file, ...read(file.text, file.shown) });
        continue;
      }
    } catch (error) {
      if (!(error instanceof ConfigErrors)) throw error;
      errors.push(...error.errors);
      continue;
    }
    const result = results[native.indexOf(file)] as ParsedHcl;
    if ("error" in result) errors.push(...parseErrors(result.error, file.shown));
    else files.push({ ...file, json: result.json, outline: outlineHcl(file.text) });
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return files;
}

/**
 * hcl2json's "parse config: [f.pkr.hcl:2,7-3,1: Summary; Detail., ...]" as located errors.
 * Messages hold commas and brackets themselves, so each is found by its "file:line,col" head.
 */
function parseErrors(message: string, shown: string): ConfigError[] {
  const body = message.replace(/^parse config: \[/, "").replace(/\]$/, "");
  const escaped = shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const head = new RegExp(`(?:^|, )${escaped}:(\\d+),(\\d+)(?:-(?:\\d+,)?\\d+)?: `, "g");
  const heads = [...body.matchAll(head)];
  if (heads.length === 0) return [new ConfigError(`HCL syntax: ${body}`, { file: shown })];
  return heads.map((match, i) => {
    const end = heads[i + 1]?.index ?? body.length;
    const text = body.slice((match.index ?? 0) + match[0].length, end).replace(/\.$/, "");
    return new ConfigError(`HCL syntax: ${text}`, { file: shown, line: Number(match[1]), column: Number(match[2]) });
  });
}
