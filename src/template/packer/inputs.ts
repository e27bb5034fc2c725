// What a Packer template's load takes from the command line and the environment, as
// `packer build` does: -var, -var-file, PKR_VAR_*, -only, -except.
import type { OptionTable } from "../../core/options.js";
import type { VariableInputs } from "../variables.js";

export interface PackerInputs extends VariableInputs {
  /** -only: build only these builds ("qemu.name", "buildname.qemu.name", globs with *). */
  only?: string[];
  /** -except: skip these builds, and post-processors with these names. */
  except?: string[];
  /** Fixed clock for timestamp() (tests). */
  now?: Date;
  /**
   * The folder a Packer template's relative paths start at, as if tsimg ran there (Packer's
   * working directory); default: process.cwd(). Serve passes the template's folder.
   */
  workingDir?: string;
}

/** The option tables of the components (a ComponentRegistry is one): what type each option takes. */
export interface OptionTypes {
  source: { options: OptionTable };
  provisioners: { types: Record<string, OptionTable> };
  postProcessors: { types: Record<string, OptionTable> };
}
