// Which front-end reads a template: a .toml file; a Packer HCL2 file (*.pkr.hcl, *.pkr.json) or a folder
// of them (as `packer build <folder>` loads it); a legacy Packer JSON template (*.json).
import { statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { ConfigError, ConfigErrors } from "../core/errors.js";
import type { TemplateDocument } from "./document.js";
import { readHclDocument } from "./packer/hcl-document.js";
import { readJsonDocument } from "./packer/json-document.js";
import type { OptionTypes, PackerInputs } from "./packer/inputs.js";
import { readTomlDocument } from "./toml-format.js";

export type TemplateFormat = "toml" | "hcl" | "json";

/** The format a path holds, by its name (a folder not named *.toml is HCL2, as for Packer). */
export function templateFormat(path: string): TemplateFormat {
  if (/\.pkr\.hcl$/i.test(path)) return "hcl";
  if (/\.pkr\.json$/i.test(path)) return "hcl"; // HCL2 in JSON syntax (packer/hcl/json-syntax.ts)
  if (/\.json$/i.test(path)) return "json";
  if (!/\.toml$/i.test(path) && isDirectory(path)) return "hcl";
  return "toml";
}

/** The template at `templatePath` as a TemplateDocument; throws ConfigErrors when it cannot be read. `types` (the registry) lets Packer front-ends convert "2" to 2 where an option takes a number, as Packer does. */
export function readDocument(templatePath: string, inputs: PackerInputs, types: OptionTypes): TemplateDocument {
  const path = resolve(templatePath);
  const fromCwd = relative(process.cwd(), path);
  const shown = fromCwd && !fromCwd.startsWith("..") ? fromCwd : path;
  const format = templateFormat(path);
  if (format === "toml" && (inputs.only?.length || inputs.except?.length))
    throw new ConfigErrors([
      new ConfigError("-only and -except choose among a Packer template's builds; a TOML template has one", {
        file: shown,
      }),
    ]);
  if (format === "hcl") return readHclDocument(path, shown, inputs, types);
  if (format === "json") return readJsonDocument(path, shown, inputs, types);
  return readTomlDocument(path, shown);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
