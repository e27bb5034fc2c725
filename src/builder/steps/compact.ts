import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { convertDisk } from "../../qemu/qemu-img.js";
import type { BuildStep } from "../context.js";
import type { CompactedDisks, CreatedDisks, EfiVars, PreparedOutput } from "../values.js";

/**
 * Compacts each disk with qemu-img convert into a temporary name, then renames it into
 * place: an artifact appears complete or not at all. A thin overlay (use_backing_file) is
 * only renamed, since converting it would copy the whole base into it.
 */
export const compact: BuildStep<
  Pick<PreparedOutput, "diskPath"> & Pick<CreatedDisks, "additionalDisks"> & Partial<EfiVars>,
  CompactedDisks
> = {
  name: "compact",
  title: "Converting and compacting the disk...",
  async run(ctx, input) {
    const source = ctx.build.plan.source;
    const { output_directory, vm_name, format, skip_compaction, disk_compression, use_backing_file, qemu_img_args } =
      source;
    const disks = [input.diskPath, ...input.additionalDisks].map((building, i) => ({
      building,
      final: join(output_directory, diskName(vm_name, i)),
    }));
    if (use_backing_file && !skip_compaction)
      ctx.events.info("use_backing_file: the overlay is kept as written (compacting would flatten it)");
    for (const { building, final } of disks) {
      if (skip_compaction || (use_backing_file && building === input.diskPath)) {
        await rename(building, final);
        continue;
      }
      const partial = `${final}.partial`;
      await convertDisk(building, partial, {
        format,
        compress: disk_compression && format === "qcow2",
        extraArgs: qemu_img_args.convert,
        signal: ctx.signal,
      });
      await rename(partial, final);
      await rm(building, { force: true });
    }
    if (input.efiVarsPath && source.efi_drop_efivars) await rm(input.efiVarsPath, { force: true });
    return {
      artifactPath: join(output_directory, diskName(vm_name, 0)),
      additionalArtifacts: disks.slice(1).map((d) => d.final),
    };
  },
};

/** The file name of disk `index` (0: vm_name; n: "tinyos-n.qcow2", or "<vm_name>-n" without an extension). */
export function diskName(vmName: string, index: number): string {
  if (index === 0) return vmName;
  const dot = vmName.lastIndexOf(".");
  return dot > 0 ? `${vmName.slice(0, dot)}-${index}${vmName.slice(dot)}` : `${vmName}-${index}`;
}
