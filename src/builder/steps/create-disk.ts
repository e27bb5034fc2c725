import type { Step } from "../../engine/runner.js";
import { createDisk as createDiskImage } from "../../qemu/qemu-img.js";
import type { QemuBuildState } from "../state.js";

/** Creates the empty build disk with qemu-img (disk_size, format). */
export const createDisk: Step<QemuBuildState> = {
  name: "create-disk",
  title: "Creating disk image...",
  async run(ctx, state) {
    const { format, disk_size } = state.plan.source;
    await createDiskImage(state.diskPath!, format, `${disk_size}M`);
    ctx.events.info(`created ${format} disk of ${disk_size} MiB`);
  },
};
