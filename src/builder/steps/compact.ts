import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Step } from "../../core/runner.js";
import { convertDisk } from "../../qemu/qemu-img.js";
import type { QemuBuildState } from "../state.js";

/**
 * Compacts each disk with qemu-img convert into a temporary name, then renames it into
 * place: an artifact appears complete or not at all. A thin overlay (use_backing_file) is
 * only renamed, since converting it would copy the whole base into it.
 */
export const compact: Step<QemuBuildState> = {
  name: "compact",
  title: "Converting and compacting the disk...",
  async run(ctx, state) {
    const { output_directory, vm_name, format, skip_compaction, disk_compression, use_backing_file, qemu_img_args } = state.plan.source;
    const disks = [state.diskPath!, ...(state.additionalDisks ?? [])].map((building, i) => ({ building, final: join(output_directory, diskName(vm_name, i)) }));
    if (use_backing_file && !skip_compaction) ctx.events.info("use_backing_file: the overlay is kept as written (compacting would flatten it)");
    for (const { building, final } of disks) {
      if (skip_compaction || (use_backing_file && building === state.diskPath)) {
        await rename(building, final);
        continue;
      }
      const partial = `${final}.partial`;
      await convertDisk(building, partial, { format, compress: disk_compression && format === "qcow2", extraArgs: qemu_img_args.convert, signal: ctx.signal });
      await rename(partial, final);
      await rm(building, { force: true });
    }
    if (state.efiVarsPath && state.plan.source.efi_drop_efivars) await rm(state.efiVarsPath, { force: true });
    state.artifactPath = disks[0]!.final;
    state.additionalArtifacts = disks.slice(1).map((d) => d.final);
  },
};

/** The file name of disk `index` (0: vm_name; n: "tinyos-n.qcow2", or "<vm_name>-n" without an extension). */
export function diskName(vmName: string, index: number): string {
  if (index === 0) return vmName;
  const dot = vmName.lastIndexOf(".");
  return dot > 0 ? `${vmName.slice(0, dot)}-${index}${vmName.slice(dot)}` : `${vmName}-${index}`;
}
