// `tsimg validate`: every problem in every template, at once.
import { ConfigErrors, loadTemplate } from "../index.js";
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
      const plan = loadTemplate(path, loadOptions(values));
      printWarnings(plan);
      for (const warning of plan.missingInputs) {
        for (const line of formatError(warning, false)) console.error(line.replace(/^Error: /, "Warning: "));
      }
      console.log(`${path}: valid${plan.missingInputs.length ? " (a build needs the missing files above)" : ""}`);
    } catch (error) {
      if (!(error instanceof ConfigErrors)) throw error;
      failed = true;
      for (const line of formatError(error, values.debug ?? false)) console.error(line);
    }
  }
  return failed ? EXIT.config : EXIT.ok;
}
