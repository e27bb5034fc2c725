// Option parsing shared by the commands.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, ConfigErrors, type LoadOptions } from "../index.js";

import { UsageError } from "./usage-error.js";

export { UsageError };

const VARIABLE_FLAGS = {
  var: { type: "string", multiple: true },
  "var-file": { type: "string", multiple: true },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** parseArgs with the shared flags; unknown flags become a UsageError naming the command. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: typeof VARIABLE_FLAGS & T }>
> {
  try {
    return parseArgs({ args, allowPositionals: true, strict: true, options: { ...VARIABLE_FLAGS, ...options } });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]}. Run "tsimg ${command} --help".`);
  }
}

/** --var and --var-file as loadTemplate options. */
export function loadOptions(values: { var?: string[]; "var-file"?: string[] }): LoadOptions {
  return { vars: parseVarFlags(values.var ?? []), varFiles: values["var-file"] ?? [] };
}

/** ["a=b", "c=d=e"] -> { a: "b", c: "d=e" }. */
export function parseVarFlags(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    if (eq <= 0) throw new ConfigErrors([new ConfigError(`--var "${flag}" is not name=value`)]);
    out[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return out;
}
