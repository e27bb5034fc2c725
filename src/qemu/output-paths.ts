// Where a build may write. output_directory is replaced by --force and removed when a build
// fails, so a template (or an unset variable that made it "") must never be able to point it
// at a checkout, a home or the root; vm_name names a file inside it and must stay there.
import { existsSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, parse, sep } from "node:path";

/** The marker prepare-output leaves in every output_directory it makes; --force replaces only those. */
export const OUTPUT_MARKER = ".tsimg-output";

/** Files tsimg writes into output_directory itself, which vm_name must not take over. */
const RESERVED_NAMES = [OUTPUT_MARKER, "serial.log", "efivars.fd"];

export interface OutputPathContext {
  /** The directory the template is in. */
  templateDir: string;
  /** The current directory (relative output_directory values resolve against it, as in Packer). */
  cwd: string;
  /** The user's home directory. */
  home: string;
}

/** The directories of a real run: this process's cwd and home. */
export function hostContext(templateDir: string): OutputPathContext {
  return { templateDir, cwd: process.cwd(), home: process.env.HOME || homedir() };
}

/**
 * Why output_directory (absolute) must not be used, or undefined when it may. `written` is
 * the value as the template wrote it, for the message.
 */
export function refuseOutputDirectory(dir: string, written: string, context: OutputPathContext): string | undefined {
  const real = realOrSelf(dir);
  const what = `output_directory ${JSON.stringify(written)} (${dir})`;
  const why = "tsimg would delete it when a build fails, and --force would replace it";
  if (real === parse(real).root) return `${what} is the root directory: ${why}`;
  const named: [string, string][] = [
    [context.cwd, "the current directory"],
    [context.templateDir, "the template's directory"],
    [context.home, "your home directory"],
  ];
  for (const [place, name] of named) {
    const target = realOrSelf(place);
    if (real === target) return `${what} is ${name}: ${why}`;
    if (target.startsWith(real + sep)) return `${what} holds ${name} (${place}): ${why}`;
  }
  if (existsSync(join(real, ".git"))) return `${what} holds a Git repository (.git): ${why}`;
  return undefined;
}

/** Why vm_name must not be used, or undefined when it is a plain file name tsimg may create. */
export function refuseVmName(name: string): string | undefined {
  const what = `vm_name ${JSON.stringify(name)}`;
  if (name === "") return `${what} is empty: name the disk image file, e.g. "rocky9.qcow2"`;
  if (name.includes("/") || name.includes("\\") || name === "." || name === "..") {
    return `${what} must be a plain file name inside output_directory, without "/" or ".."`;
  }
  if (name.includes("\0")) return `${what} contains a NUL character`;
  if (Buffer.byteLength(name) > 200) return `${what} is longer than 200 bytes`;
  if (RESERVED_NAMES.includes(name))
    return `${what} is a file tsimg itself writes into output_directory: pick another name`;
  return undefined;
}

/** The path with symlinks resolved as far as it exists (the rest appended as written). */
function realOrSelf(path: string): string {
  let existing = path;
  const rest: string[] = [];
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) return path;
    rest.unshift(existing.slice(parent.length).replace(/^[/\\]/, ""));
    existing = parent;
  }
  try {
    return join(realpathSync(existing), ...rest);
  } catch {
    return path;
  }
}

/** Adds a problem for each of output_directory and vm_name that tsimg must not write to. */
export function checkOutputPaths(
  source: { output_directory: string; vm_name: string },
  written: Record<string, unknown>,
  context: OutputPathContext,
  problems: { path: (string | number)[]; message: string }[],
): void {
  const writtenDir = typeof written.output_directory === "string" ? written.output_directory : source.output_directory;
  const dirProblem = refuseOutputDirectory(source.output_directory, writtenDir, context);
  if (dirProblem) problems.push({ path: ["source", "output_directory"], message: dirProblem });
  const nameProblem = refuseVmName(source.vm_name);
  if (nameProblem) problems.push({ path: ["source", "vm_name"], message: nameProblem });
}
