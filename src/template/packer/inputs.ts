// What a Packer template's load takes from the command line and the environment, as
// `packer build` does: -var, -var-file, PKR_VAR_*, -only, -except.
import type { VariableInputs } from "../variables.js";

export interface PackerInputs extends VariableInputs {
  /** -only: build only these builds ("qemu.name", "buildname.qemu.name", globs with *). */
  only?: string[];
  /** -except: skip these builds, and post-processors with these names. */
  except?: string[];
  /** Fixed clock for timestamp() (tests). */
  now?: Date;
}
