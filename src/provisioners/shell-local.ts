// The shell-local provisioner: scripts on the build host, between the guest's provisioners
// (e.g. to make a file a later `file` provisioner uploads, or to poke the guest from outside).
import type { ShellLocalProvisionerConfig } from "./options.js";
import { runLocalScripts } from "../util/run-local.js";
import type { ProvisionContext, ProvisionResult } from "./provisioner.js";

export async function runShellLocal(
  config: ShellLocalProvisionerConfig,
  ctx: ProvisionContext,
): Promise<ProvisionResult> {
  await runLocalScripts(config, { env: ctx.buildEnv, cwd: ctx.templateDir, signal: ctx.signal, events: ctx.events });
  return { disconnected: false };
}
