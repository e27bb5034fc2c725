import type { ProvisionerConfig } from "./options.js";
import { runFile } from "./file.js";
import type { ProvisionContext, ProvisionResult } from "./provisioner.js";
import { runShell } from "./shell.js";
import { runShellLocal } from "./shell-local.js";

/** Runs one provisioner of any type. */
export function runProvisioner(config: ProvisionerConfig, ctx: ProvisionContext): Promise<ProvisionResult> {
  switch (config.type) {
    case "shell":
      return runShell(config, ctx);
    case "file":
      return runFile(config, ctx);
    case "shell-local":
      return runShellLocal(config, ctx);
  }
}
