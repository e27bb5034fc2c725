import { formatBytes } from "../../util/progress.js";
import { TsimgError } from "../../core/errors.js";
import { convertDisk, createDisk as createDiskImage, diskInfo, resizeDisk } from "../../qemu/qemu-img.js";
import type { BuildStep } from "../context.js";
import type { BaseImage } from "../disk-artifact.js";
import type { CreatedDisks, FetchedIso, PreparedOutput } from "../values.js";

/**
 * The build's disks: an empty one of disk_size, or with disk_image a copy of the base (or a
 * thin overlay on it) grown to disk_size; then one empty disk per disk_additional_size.
 */
export const createDisk: BuildStep<FetchedIso & Pick<PreparedOutput, "diskPath">, CreatedDisks> = {
  name: "create-disk",
  title: "Creating disk image...",
  async run(ctx, input) {
    const source = ctx.build.plan.source;
    const { format, disk_size, qemu_img_args: img } = source;
    const disk = input.diskPath;
    let baseImage: BaseImage | undefined;
    if (!source.disk_image) {
      await createDiskImage(disk, format, `${disk_size}M`, img.create);
      ctx.events.info(`created ${format} disk of ${disk_size} MiB`);
    } else {
      const base = input.isoPath;
      const info = await diskInfo(base, ctx.signal);
      baseImage = { path: base, format: info.format, ...(input.isoSha256 ? { sha256: input.isoSha256 } : {}) };
      if (source.use_backing_file) {
        await createDiskImage(disk, "qcow2", source.skip_resize_disk ? "" : `${disk_size}M`, [
          "-b",
          base,
          "-F",
          info.format,
          ...img.create,
        ]);
        ctx.events.info(`created a qcow2 overlay on ${base} (${info.format}, ${formatBytes(info.virtualSize)})`);
      } else {
        await convertDisk(base, disk, { format, compress: false, extraArgs: img.convert, signal: ctx.signal });
        ctx.events.info(`copied ${base} (${info.format}, ${formatBytes(info.virtualSize)}) into a ${format} disk`);
      }
      const wanted = disk_size * 1024 * 1024;
      if (!source.skip_resize_disk && !source.use_backing_file) {
        if (wanted < info.virtualSize) {
          throw new TsimgError(
            `disk_size (${disk_size} MiB) is smaller than the base image (${formatBytes(info.virtualSize)}); raise disk_size or set skip_resize_disk`,
            {
              details: ["shrinking a disk would cut off the end of its file system"],
            },
          );
        }
        if (wanted > info.virtualSize) {
          await resizeDisk(disk, format, `${disk_size}M`, img.resize, ctx.signal);
          ctx.events.info(`resized the disk to ${disk_size} MiB`);
        }
      }
    }
    // Failed builds lose them with output_directory (prepare-output's cleanup).
    const additionalDisks: string[] = [];
    for (const [i, size] of source.disk_additional_size.entries()) {
      const path = `${disk}-${i + 1}`;
      await createDiskImage(path, format, `${size}M`, img.create);
      additionalDisks.push(path);
      ctx.events.info(`created additional ${format} disk ${i + 1} of ${size} MiB`);
    }
    return { additionalDisks, ...(baseImage ? { baseImage } : {}) };
  },
};
