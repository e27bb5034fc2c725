// What QEMU does for the layer cache: saving a layer pauses the VM, puts a new qcow2
// overlay on top of its disk (so the old file is frozen exactly as the guest left it),
// writes the VM's memory to a file (QEMU's migration stream) when the layer is kept, and
// lets it run on. A later build starts QEMU with `-incoming defer` on an overlay over the
// frozen disk and loads that memory, so the guest runs on from the very moment the layer
// ended, with no boot at all (docs/cache.md).
import { sleep, withTimeout } from "../core/abort.js";
import { QemuError } from "../core/errors.js";
import type { QmpClient } from "../qemu/qmp.js";
import { runQemuImg } from "../qemu/qemu-img.js";

interface BlockInfo {
  device: string;
  qdev?: string;
  inserted?: { file: string; "node-name": string; image: { "virtual-size": number } };
}

/** The top block node of the disk QEMU opened as `diskPath`, and its virtual size. */
export async function diskNode(qmp: QmpClient, diskPath: string): Promise<{ node: string; size: number }> {
  const blocks = await qmp.execute<BlockInfo[]>("query-block");
  const disk = blocks.find((b) => b.inserted?.file === diskPath);
  if (!disk?.inserted) throw new QemuError(`layer cache: QEMU has no drive for ${diskPath}`);
  return { node: disk.inserted["node-name"], size: disk.inserted.image["virtual-size"] };
}

/** Creates a qcow2 overlay on `backing` without opening it (QEMU may hold it). */
export async function createOverlay(path: string, backing: string, size: number, signal?: AbortSignal): Promise<void> {
  await runQemuImg(["create", "-q", "-f", "qcow2", "-u", "-b", backing, "-F", "qcow2", path, String(size)], signal);
}

export interface FreezeRequest {
  /** The node the guest writes now (diskNode's, or the last freeze's `node`). */
  top: string;
  /** The file under `top` (frozen from now on). */
  topPath: string;
  /** The overlay the guest writes next, created here. */
  nextPath: string;
  /** Its node name. */
  nextNode: string;
  size: number;
  /** Where the memory goes; none for a layer nobody will restore. */
  memoryPath?: string | undefined;
  signal: AbortSignal;
}

/** Pauses the VM, switches its disk to a new overlay, saves its memory, and resumes it. */
export async function freezeLayer(qmp: QmpClient, r: FreezeRequest): Promise<void> {
  const q = <T>(command: string, args?: Record<string, unknown>) =>
    withTimeout(qmp.execute<T>(command, args), 30_000, `QMP ${command}`, r.signal);
  await createOverlay(r.nextPath, r.topPath, r.size, r.signal);
  await q("stop");
  try {
    await q("blockdev-add", {
      driver: "qcow2",
      "node-name": r.nextNode,
      file: { driver: "file", filename: r.nextPath },
      backing: null,
    });
    await q("blockdev-snapshot", { node: r.top, overlay: r.nextNode });
    if (r.memoryPath) {
      // No bandwidth cap: the VM is paused, so only the file's speed matters.
      await q("migrate-set-parameters", { "max-bandwidth": 64 * 1024 ** 3 });
      await q("migrate", { uri: `exec:cat > ${shellQuote(r.memoryPath)}` });
      await migrationDone(qmp, r.signal, "saving the VM's memory");
    }
  } finally {
    await q("cont");
  }
}

/**
 * Loads a layer's memory into a QEMU started with `-incoming defer` and runs the guest.
 * QEMU exits when the stream does not fit its machine: the caller watches for that.
 * `intact` is the caller's check of the file (its hash), run while QEMU loads it: the guest
 * runs only when both are done and the check passed.
 */
export async function restoreMemory(
  qmp: QmpClient,
  memoryPath: string,
  signal: AbortSignal,
  intact: Promise<void> = Promise.resolve(),
): Promise<void> {
  const q = <T>(command: string, args?: Record<string, unknown>) =>
    withTimeout(qmp.execute<T>(command, args), 30_000, `QMP ${command}`, signal);
  await q("migrate-incoming", { uri: `exec:cat ${shellQuote(memoryPath)}` });
  // The incoming side reports "completed" once the whole stream is loaded; the VM stays paused (as saved) until `cont`.
  await Promise.all([migrationDone(qmp, signal, "loading the VM's memory"), intact]);
  await q("cont");
}

async function migrationDone(qmp: QmpClient, signal: AbortSignal, what: string): Promise<void> {
  for (;;) {
    const state = await qmp.execute<{ status?: string; "error-desc"?: string }>("query-migrate");
    if (state.status === "completed") return;
    if (state.status === "failed" || state.status === "cancelled")
      throw new QemuError(`layer cache: ${what} failed: ${state["error-desc"] ?? state.status}`);
    await sleep(25, signal);
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
