// The qemu builder's checks beyond what its option table expresses: computed output names,
// disk options QEMU would refuse, port ranges, and boot_command's syntax.
import { resolve } from "node:path";
import { checkMinMax, isFile, type Problem } from "../core/check-options.js";
import type { CheckedOf } from "../core/options.js";
import { closest } from "../core/did-you-mean.js";
import { BootCommandError, parseBootCommand } from "./boot-command.js";
import type { QEMU_OPTIONS, QemuConfig, QemuImgArgs } from "./options.js";

type CheckedQemu = CheckedOf<typeof QEMU_OPTIONS>;

/** output_directory (absolute) and vm_name, with their defaults from the image name. */
export function outputNames(source: CheckedQemu, imageName: string): { output_directory: string; vm_name: string } {
  return {
    output_directory: resolve(source.output_directory ?? `output-${imageName}`),
    vm_name: source.vm_name ?? `${imageName}.${source.format}`,
  };
}

const QEMU_IMG_COMMANDS = ["create", "convert", "resize"];

/**
 * disk_image and its companions, qemu_img_args, and -drive options QEMU would refuse. Returns
 * qemu_img_args with every command present. `raw` is [source] as written.
 */
export function checkDisks(source: CheckedQemu, raw: Record<string, unknown>, problems: Problem[]): QemuImgArgs {
  const at = (key: string) => ["source", key];
  for (const key of ["use_backing_file", "skip_resize_disk"] as const) {
    if (source[key] && !source.disk_image)
      problems.push({ path: at(key), message: `${key} needs disk_image = true (it applies to a base disk image)` });
  }
  if (source.use_backing_file && source.format !== "qcow2") {
    problems.push({
      path: at("use_backing_file"),
      message: `use_backing_file needs format = "qcow2" (an overlay is a qcow2 feature), not "${source.format}"`,
    });
  }
  if (source.disk_detect_zeroes === "unmap" && source.disk_discard !== "unmap") {
    problems.push({
      path: at("disk_detect_zeroes"),
      message: 'disk_detect_zeroes = "unmap" needs disk_discard = "unmap" (QEMU refuses it otherwise)',
    });
  }
  const imgArgs = source.qemu_img_args ?? {};
  for (const key of Object.keys(imgArgs)) {
    if (!QEMU_IMG_COMMANDS.includes(key)) {
      const hint = closest(key, QEMU_IMG_COMMANDS);
      problems.push({
        path: ["source", "qemu_img_args", key],
        message: `qemu_img_args: unknown command "${key}"; use create, convert or resize${hint ? ` (did you mean "${hint}"?)` : ""}`,
      });
    }
  }
  if (source.efi_boot) {
    for (const key of ["efi_firmware_code", "efi_firmware_vars"] as const) {
      if (!isFile(source[key])) {
        problems.push({
          path: at(key),
          message: `${key}: no such file ${source[key]} (install Debian's ovmf package, or name the firmware)`,
          missingInput: !(key in raw),
        });
      }
    }
  }
  return { create: imgArgs.create ?? [], convert: imgArgs.convert ?? [], resize: imgArgs.resize ?? [] };
}

/** host_port_min and vnc_port_min are not above their max. */
export function checkQemuPorts(source: QemuConfig, problems: Problem[]): void {
  checkMinMax(
    source,
    [
      ["host_port_min", "host_port_max"],
      ["vnc_port_min", "vnc_port_max"],
    ],
    "source",
    problems,
  );
}

/** boot_command parses: key names, waits, holds. */
export function checkBootCommand(source: QemuConfig, problems: Problem[]): void {
  try {
    parseBootCommand(source.boot_command ?? []);
  } catch (error) {
    if (!(error instanceof BootCommandError)) throw error;
    problems.push({ path: ["source", "boot_command"], message: `boot_command: ${error.message}` });
  }
}
