// The qemu builder's steps, top to bottom, as packer-plugin-qemu's Builder.Run lists them,
// then the post-processor chains as one more step, so a failing or cancelled chain fails
// the build with the same cleanup and --on-error handling as any other step.
import { when, type Step } from "../core/runner.js";
import type { QemuBuildState } from "./state.js";
import { typeBootCommand } from "./steps/boot.js";
import { compact } from "./steps/compact.js";
import { createCd, createFloppy } from "./steps/create-cd.js";
import { createDisk } from "./steps/create-disk.js";
import { createEfiVars } from "./steps/create-efivars.js";
import { sshKey } from "./steps/ssh-key.js";
import { fetchIso } from "./steps/fetch-iso.js";
import { httpServer } from "./steps/http-server.js";
import { postProcess } from "./steps/post-process.js";
import { prepareOutput } from "./steps/prepare-output.js";
import { provision } from "./steps/provision.js";
import { shutdown, waitForPowerOff } from "./steps/shutdown.js";
import { startQemu } from "./steps/start-qemu.js";
import { startTpm } from "./steps/start-tpm.js";
import { waitForSsh } from "./steps/wait-ssh.js";
import type { BuildPlan } from "./plan.js";

/** The steps for a plan. */
export function qemuPipeline(plan: BuildPlan): Step<QemuBuildState>[] {
  const ssh = plan.source.communicator === "ssh";
  return [
    fetchIso,
    ...when(ssh && !plan.source.ssh_password && !plan.source.ssh_private_key_file, sshKey),
    prepareOutput,
    createDisk,
    ...when(plan.source.efi_boot, createEfiVars),
    httpServer,
    ...when(plan.source.cd_files.length > 0 || plan.source.cd_content !== undefined, createCd),
    ...when(plan.source.floppy_files.length > 0 || plan.source.floppy_content !== undefined, createFloppy),
    ...when(plan.source.vtpm, startTpm),
    startQemu,
    typeBootCommand,
    ...when(ssh, waitForSsh),
    ...when(ssh, provision),
    ...(ssh ? [shutdown] : [waitForPowerOff]),
    compact,
    ...when(plan.postProcessors.length > 0, postProcess),
  ];
}
