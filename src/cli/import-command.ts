// `tsimg import`: a Packer template (HCL2 file or folder, or legacy JSON) written as the
// equivalent TOML template. Refuses to replace an existing file without --force, and never
// leaves a half-written one (it writes a temporary file, then renames it).
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { importTemplate } from "../index.js";
import { EXIT } from "./exit-codes.js";
import { HELP } from "./help.js";
import { loadOptions, parseCommandArgs, UsageError } from "./options.js";

export function runImport(args: string[]): number {
  const { values, positionals } = parseCommandArgs("import", args, {
    output: { type: "string", short: "o" },
    force: { type: "boolean" },
  });
  if (values.help) {
    console.log(HELP.import);
    return EXIT.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError('tsimg import needs one Packer template or folder, e.g. "tsimg import packer/rocky9"');
  const template = positionals[0] as string;
  const name = basename(resolve(template)).replace(/(\.pkr)?\.(hcl|json)$/i, "");
  const out = values.output ?? `${name}.toml`;
  if (existsSync(out) && !values.force)
    throw new UsageError(`${out} exists: choose another name with -o, or replace it with --force`);
  if (existsSync(out) && statSync(out).isDirectory())
    throw new UsageError(`${out} is a directory: name a file with -o`);
  const { toml, notes } = importTemplate(template, out, loadOptions(values));
  const temporary = join(dirname(resolve(out)), `.${basename(out)}.${process.pid}.tmp`);
  mkdirSync(dirname(resolve(out)), { recursive: true });
  try {
    writeFileSync(temporary, toml);
    renameSync(temporary, out);
  } finally {
    rmSync(temporary, { force: true });
  }
  for (const note of notes) console.error(`Note: ${note}`);
  console.log(`${out}: written from ${template} (check it with "tsimg inspect ${out}")`);
  return EXIT.ok;
}
