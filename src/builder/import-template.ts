// importTemplate: `tsimg import`'s work (template/import-toml.ts) with the real components,
// whose option tables say which values are paths.
import { importTemplate as importWith, type ImportResult } from "../template/import-toml.js";
import type { LoadOptions } from "../template/load.js";
import { COMPONENTS } from "./registry.js";

export type { ImportResult };

/** The TOML equivalent of a Packer template, for writing at `outPath`. Throws ConfigErrors. */
export function importTemplate(templatePath: string, outPath: string, options: LoadOptions = {}): ImportResult {
  return importWith(templatePath, outPath, options, COMPONENTS);
}
