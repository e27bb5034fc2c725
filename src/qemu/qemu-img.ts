// qemu-img, the disk tool: create the build disk and compact it at the end.
import { TsimgError } from "../core/errors.js";
import { runProgram } from "../util/run-program.js";

/** Runs qemu-img with args; a failure becomes one readable error with qemu-img's own words. */
export async function runQemuImg(args: string[], signal?: AbortSignal): Promise<string> {
  const result = await runProgram("qemu-img", args, signal ? { signal } : {});
  if (result.cancelled) throw new TsimgError("qemu-img was cancelled");
  if (!result.ok) {
    const said = (result.stderr || result.stdout).trim() || result.problem;
    throw new TsimgError(`qemu-img ${args[0]} failed: ${said}`);
  }
  return result.stdout;
}

/** Creates an empty disk image of `size` (qemu-img size syntax, e.g. "40960M"; "" with a backing file keeps its size). */
export async function createDisk(path: string, format: string, size: string, extraArgs: string[] = []): Promise<void> {
  await runQemuImg(["create", "-q", "-f", format, ...extraArgs, path, ...(size ? [size] : [])]);
}

/** Grows a disk image to `size`. */
export async function resizeDisk(
  path: string,
  format: string,
  size: string,
  extraArgs: string[] = [],
  signal?: AbortSignal,
): Promise<void> {
  await runQemuImg(["resize", "-q", "-f", format, ...extraArgs, path, size], signal);
}

export interface DiskInfo {
  format: string;
  virtualSize: number;
  backingFile?: string;
}

/** qemu-img info: the image's format, virtual size and backing file. */
export async function diskInfo(path: string, signal?: AbortSignal): Promise<DiskInfo> {
  const info = JSON.parse(await runQemuImg(["info", "--output=json", path], signal)) as {
    format: string;
    "virtual-size": number;
    "backing-filename"?: string;
  };
  return {
    format: info.format,
    virtualSize: info["virtual-size"],
    ...(info["backing-filename"] ? { backingFile: info["backing-filename"] } : {}),
  };
}

/** Copies `from` into a new, compacted image `to` (unused blocks dropped; optional compression). */
export async function convertDisk(
  from: string,
  to: string,
  options: { format: string; compress: boolean; extraArgs?: string[]; signal?: AbortSignal },
): Promise<void> {
  const args = [
    "convert",
    "-O",
    options.format,
    ...(options.compress ? ["-c"] : []),
    ...(options.extraArgs ?? []),
    from,
    to,
  ];
  await runQemuImg(args, options.signal);
}
