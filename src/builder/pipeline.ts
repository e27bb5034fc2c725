// The qemu builder's steps, top to bottom, as packer-plugin-qemu's Builder.Run lists them,
// then the post-processor chains as one more step, so a failing or cancelled chain fails
// the build with the same cleanup and --on-error handling as any other step. Each step reads
// only what a step above it produced: the compiler checks that (core/pipeline.ts).
import { Pipeline } from "../core/pipeline.js";
import type { BuildStepContext } from "./context.js";
import type { BuildPlan } from "./plan.js";
import { typeBootCommand } from "./steps/boot.js";
import { bootTest } from "./steps/boot-test.js";
import { compact } from "./steps/compact.js";
import { createCd, createFloppy } from "./steps/create-cd.js";
import { createDisk } from "./steps/create-disk.js";
import { createEfiVars } from "./steps/create-efivars.js";
import { fetchIso } from "./steps/fetch-iso.js";
import { inventory } from "./steps/inventory.js";
import { httpServer } from "./steps/http-server.js";
import { postProcess } from "./steps/post-process.js";
import { prepareOutput } from "./steps/prepare-output.js";
import { provision } from "./steps/provision.js";
import { shutdown, waitForPowerOff } from "./steps/shutdown.js";
import { diskOnLayers, installLayer, keyFromLayer, lookupLayers, unlessRestored } from "./steps/layers.js";
import { sshKey } from "./steps/ssh-key.js";
import { startQemu } from "./steps/start-qemu.js";
import { startTpm } from "./steps/start-tpm.js";
import { waitForSsh } from "./steps/wait-ssh.js";
import { writeSbom } from "./steps/write-sbom.js";

/** The steps for a plan. */
export function qemuPipeline(plan: BuildPlan) {
  const source = plan.source;
  const ssh = source.communicator === "ssh";
  // Layers (docs/cache.md): a build may continue from a cached layer; the steps that differ then are wrapped.
  return Pipeline.start<BuildStepContext>()
    .then(fetchIso)
    .then(lookupLayers)
    .when(ssh && !source.ssh_password && !source.ssh_private_key_file, keyFromLayer(sshKey))
    .then(prepareOutput)
    .then(diskOnLayers(createDisk))
    .when(source.efi_boot, createEfiVars)
    .then(httpServer)
    .when(source.cd_files.length > 0 || source.cd_content !== undefined, createCd)
    .when(source.floppy_files.length > 0 || source.floppy_content !== undefined, createFloppy)
    .when(source.vtpm, startTpm)
    .then(startQemu)
    .then(unlessRestored(typeBootCommand))
    .when(ssh, (steps) => steps.then(waitForSsh).then(installLayer).then(provision).then(inventory).then(shutdown))
    .when(!ssh, waitForPowerOff)
    .then(compact)
    .when(ssh && source.boot_test, bootTest)
    .when(ssh, writeSbom)
    .when(plan.postProcessors.length > 0, postProcess);
}
