// On-demand PNGs of the running VM's console. QMP screendump writes a file (QEMU has no
// way to hand the image back over the socket), so each one goes to the build's private
// work dir under its own name, is read back and removed: two callers at once never share
// a file, and nothing is left beside the output.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { withTimeout } from "../core/abort.js";
import { NoVmRunningError } from "../core/errors.js";
import type { QemuProcess } from "../qemu/process.js";
import type { QmpClient } from "../qemu/qmp.js";

/** How long QEMU may take to write one PNG (TCG on a busy host can be slow). */
const SCREENDUMP_LIMIT_MS = 10_000;

let sequence = 0;

/** A running VM's console, as start-qemu attaches it. */
export interface AttachedVm {
  qemu: QemuProcess;
  qmp: QmpClient;
  /** The build's private work dir, where each PNG is written and read back. */
  workDir: string;
}

/** The build's view of the VM's screen: screenshots while QEMU runs, and the one kept of a failed build. */
export class VmConsole {
  private vm: AttachedVm | undefined;
  /** start-qemu's cleanup: PNG of the console when the build failed while QEMU ran. */
  failureScreenshot: string | undefined;

  /** Called by start-qemu once QMP answers. */
  attach(vm: AttachedVm): void {
    this.vm = vm;
  }

  /** A PNG of the console right now; rejects with NoVmRunningError when no VM runs. */
  async screenshot(): Promise<Buffer> {
    if (!this.vm) throw new NoVmRunningError("no VM is running yet: the build has not started QEMU");
    const { qemu, qmp, workDir } = this.vm;
    if (qemu.exit || qmp.isClosed) throw new NoVmRunningError("no VM is running any more: QEMU has stopped");
    const file = join(workDir, `screen-${process.pid}-${++sequence}.png`);
    try {
      await withTimeout(
        qmp.execute("screendump", { filename: file, format: "png" }),
        SCREENDUMP_LIMIT_MS,
        "QEMU did not write the screenshot in time",
      );
      return await readFile(file);
    } catch (error) {
      // QEMU quit between the check above and the command: that is "no VM", not a failure.
      if (qemu.exit || qmp.isClosed) throw new NoVmRunningError("no VM is running any more: QEMU has stopped");
      throw error;
    } finally {
      await rm(file, { force: true }).catch(() => undefined);
    }
  }
}
