import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Step } from "../../engine/runner.js";
import { convertDisk } from "../../qemu/qemu-img.js";
import type { QemuBuildState } from "../state.js";

/**
 * Compacts the disk with qemu-img convert into a temporary name, then renames it to
 * vm_name: the artifact appears complete or not at all.
 */
export const compact: Step<QemuBuildState> = {
  name: "compact",
  title: "Converting and compacting the disk...",
  async run(ctx, state) {
    const { output_directory, vm_name, format, skip_compaction, disk_compression } = state.plan.source;
    const final = join(output_directory, vm_name);
    const building = state.diskPath!;
    if (skip_compaction) {
      await rename(building, final);
    } else {
      const partial = `${final}.partial`;
      await convertDisk(building, partial, { format, compress: disk_compression && format === "qcow2", signal: ctx.signal });
      await rename(partial, final);
      await rm(building, { force: true });
    }
    state.artifactPath = final;
  },
};
