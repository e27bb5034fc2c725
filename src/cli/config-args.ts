// The arguments of the long-running commands, tsimg serve and tsimg worker: --config and --help.
import { parseArgs } from "node:util";
import { HELP } from "./help.js";
import { UsageError } from "./options.js";

/** The config file's path, or undefined after printing the command's help (--help). */
export function configPath(argv: string[], command: "serve" | "worker"): string | undefined {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: "string" }, help: { type: "boolean" } },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "tsimg ${command} --help".`);
  }
  if (values.help) {
    console.log(HELP[command]);
    return undefined;
  }
  if (!values.config) throw new UsageError(`missing --config ${command}.toml. Run "tsimg ${command} --help".`);
  return values.config;
}
