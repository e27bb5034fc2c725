// `tsimg import`: a Packer template (HCL2 file or folder, or legacy JSON) written as the
// equivalent TOML template; a template with several qemu builds gives one TOML per build.
// Refuses to replace an existing file without --force, and never leaves a half-written one
// (it writes a temporary file, then renames it).
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigErrors, importTemplate, SeveralBuildsError, type ImportResult } from "../index.js";
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
  const options = loadOptions(values);
  const out = values.output ?? `${name}.toml`;
  checkWritable(out, values.force === true);
  const several = severalBuilds(() => importTemplate(template, out, options));
  if (!(several instanceof SeveralBuildsError)) {
    write(out, several, template);
    return EXIT.ok;
  }
  // Several qemu builds: one TOML each, named and imported as `tsimg build -only=<build>` runs it.
  if (values.output !== undefined)
    throw new UsageError(
      `${template} has ${several.builds.length} qemu builds (${several.builds.map((b) => b.name).join(", ")}): ` +
        `-o names one file; leave it out to write one TOML per build (${several.builds.map((b) => `${name}-${b.name}.toml`).join(", ")}), or choose one with -only`,
    );
  const files = several.builds.map((build) => ({ build, out: `${name}-${build.name}.toml` }));
  for (const file of files) checkWritable(file.out, values.force === true);
  const imported = files.map((file) => ({
    ...file,
    result: importTemplate(template, file.out, { ...options, only: [file.build.only] }, file.build.name),
  }));
  for (const file of imported) write(file.out, file.result, `${template} (build ${file.build.name})`);
  return EXIT.ok;
}

function checkWritable(out: string, force: boolean): void {
  if (existsSync(out) && !force)
    throw new UsageError(`${out} exists: choose another name with -o, or replace it with --force`);
  if (existsSync(out) && statSync(out).isDirectory())
    throw new UsageError(`${out} is a directory: name a file with -o`);
}

/** The import's result, or the SeveralBuildsError that says which builds the template has. */
function severalBuilds(run: () => ImportResult): ImportResult | SeveralBuildsError {
  try {
    return run();
  } catch (error) {
    const only = error instanceof ConfigErrors && error.errors.length === 1 ? error.errors[0] : undefined;
    if (only instanceof SeveralBuildsError) return only;
    throw error;
  }
}

function write(out: string, { toml, notes }: ImportResult, from: string): void {
  const temporary = join(dirname(resolve(out)), `.${basename(out)}.${process.pid}.tmp`);
  mkdirSync(dirname(resolve(out)), { recursive: true });
  try {
    writeFileSync(temporary, toml);
    renameSync(temporary, out);
  } finally {
    rmSync(temporary, { force: true });
  }
  for (const note of notes) console.error(`Note: ${note}`);
  console.log(`${out}: written from ${from} (check it with "tsimg inspect ${out}")`);
}
