// `tsimg validate`: every problem in every template, at once.
import { ConfigErrors, loadTemplates } from "../index.js";
import { EXIT } from "./exit-codes.js";
import { formatError } from "./errors.js";
import { HELP } from "./help.js";
import { loadOptions, parseCommandArgs, printWarnings, UsageError } from "./options.js";

export function runValidate(args: string[]): number {
  const { values, positionals } = parseCommandArgs("validate", args, {});
  if (values.help) {
    console.log(HELP.validate);
    return EXIT.ok;
  }
  if (positionals.length === 0)
    throw new UsageError('tsimg validate needs a template, e.g. "tsimg validate images/tinyos.toml"');
  let failed = false;
  for (const path of positionals) {
    try {
      const plans = loadTemplates(path, loadOptions(values));
      let missing = false;
      for (const plan of plans) {
        printWarnings(plan);
        for (const warning of plan.missingInputs) {
          for (const line of formatError(warning, false)) console.error(line.replace(/^Error: /, "Warning: "));
        }
        missing ||= plan.missingInputs.length > 0;
      }
      const several = plans.length > 1 ? ` (${plans.length} builds: ${plans.map((p) => p.image.name).join(", ")})` : "";
      console.log(`${path}: valid${several}${missing ? " (a build needs the missing files above)" : ""}`);
    } catch (error) {
      if (!(error instanceof ConfigErrors)) throw error;
      failed = true;
      for (const line of formatError(error, values.debug ?? false)) console.error(line);
    }
  }
  return failed ? EXIT.config : EXIT.ok;
}
