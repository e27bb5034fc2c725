// importTemplate: `tsimg import`'s work (template/import-toml.ts) with the real components,
// whose option tables say which values are paths.
import { importTemplate as importWith, type ImportResult } from "../template/import-toml.js";
import type { LoadOptions } from "../template/load.js";
import { COMPONENTS } from "./registry.js";

export type { ImportResult };

/**
 * The TOML equivalent of a Packer template, for writing at `outPath`. Throws ConfigErrors (a
 * SeveralBuildsError among them when several qemu builds are left: import each with -only and
 * its build's name, which the image's name then ends with, as `tsimg build` names it).
 */
export function importTemplate(
  templatePath: string,
  outPath: string,
  options: LoadOptions = {},
  buildName?: string,
): ImportResult {
  return importWith(templatePath, outPath, options, COMPONENTS, buildName);
}
