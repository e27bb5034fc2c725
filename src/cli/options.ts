// Option parsing shared by the commands.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, ConfigErrors, type LoadOptions } from "../index.js";
import { formatError } from "./errors.js";

import { UsageError } from "./usage-error.js";

export { UsageError };

const VARIABLE_FLAGS = {
  var: { type: "string", multiple: true },
  "var-file": { type: "string", multiple: true },
  only: { type: "string", multiple: true },
  except: { type: "string", multiple: true },
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
    return parseArgs({
      args: args.map(packerFlag),
      allowPositionals: true,
      strict: true,
      options: { ...VARIABLE_FLAGS, ...options },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]}. Run "tsimg ${command} --help".`);
  }
}

/** Packer's single-dash spelling (-var, -var-file=x, -only=...) as the double-dash one, so `packer build` becomes `tsimg build` unchanged. */
const PACKER_FLAGS = /^-(var|var-file|only|except|force|debug|on-error)(=|$)/;
function packerFlag(arg: string): string {
  return PACKER_FLAGS.test(arg) ? `-${arg}` : arg;
}

/** --var, --var-file, --only and --except as loadTemplate options (-only=a,b is a list, as in Packer). */
export function loadOptions(values: {
  var?: string[];
  "var-file"?: string[];
  only?: string[];
  except?: string[];
}): LoadOptions {
  const list = (flags: string[] | undefined) => (flags ?? []).flatMap((f) => f.split(",")).filter((f) => f !== "");
  return {
    vars: parseVarFlags(values.var ?? []),
    varFiles: values["var-file"] ?? [],
    only: list(values.only),
    except: list(values.except),
  };
}

/** A loaded template's warnings (a skipped amazon-ebs source...) on stderr, masked by `mask`. */
export function printWarnings(plan: { warnings?: ConfigError[] }, mask: (line: string) => string = (l) => l): void {
  for (const warning of plan.warnings ?? [])
    for (const line of formatError(warning, false)) console.error(mask(line.replace(/^Error: /, "Warning: ")));
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
