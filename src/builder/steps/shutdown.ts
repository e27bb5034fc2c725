import { QemuError } from "../../core/errors.js";
import { withTimeout } from "../../core/abort.js";
import { describeExit } from "../../qemu/process.js";
import { formatDuration } from "../../core/units.js";
import type { BuildStep, BuildStepContext } from "../context.js";
import type { SshConnected, VmStarted } from "../values.js";
import { tails } from "../qemu-tails.js";

/**
 * Powers the guest off: shutdown_command (or ACPI when there is none), then waits for
 * QEMU to exit, event-driven, within shutdown_timeout. If it does not, an ACPI power
 * button press gets another shutdown_timeout; if that fails too, QEMU is killed and the
 * build fails, because a disk that was never cleanly unmounted is not an artifact.
 */
/** What powering off reads: the VM (told to expect its exit) and, with a shutdown_command, the SSH link. */
type PowerOffInput = Pick<VmStarted, "guest" | "qemu" | "qmp" | "serial">;

export const shutdown: BuildStep<PowerOffInput & Partial<SshConnected>> = {
  name: "shutdown",
  title: "Gracefully halting virtual machine...",
  async run(ctx, input) {
    const { shutdown_command, shutdown_timeout } = ctx.build.plan.source;
    input.guest.expectingExit = true;
    const link = input.ssh;
    const session = link?.session;
    if (shutdown_command && link && session) {
      ctx.events.info(`running shutdown_command: ${shutdown_command}`);
      // The command may never return: the guest powers off under it. QEMU's exit ends the wait too,
      // and so does a cancelled build (Ctrl-C must not wait out a shutdown_timeout of hours).
      const command = session.exec(shutdown_command, (stream, line) =>
        ctx.events.emit({ type: "output", source: "shutdown", stream, line }),
      );
      await withTimeout(
        Promise.race([command, input.qemu.exited]),
        shutdown_timeout,
        "shutdown_command",
        ctx.signal,
      ).catch((error: unknown) => {
        if (ctx.signal.aborted) throw error;
      });
      session.close();
      delete link.session;
      if (await exitedWithin(input, shutdown_timeout, ctx)) return;
      ctx.events.warn(
        `QEMU did not exit within ${formatDuration(shutdown_timeout)} (shutdown_timeout): pressing the ACPI power button`,
      );
    } else {
      ctx.events.info("no shutdown_command: pressing the ACPI power button");
    }
    await withTimeout(input.qmp.execute("system_powerdown"), 5000, "system_powerdown", ctx.signal).catch(
      (error: unknown) => {
        if (ctx.signal.aborted) throw error;
      },
    );
    if (await exitedWithin(input, shutdown_timeout, ctx)) return;
    await input.qemu.kill();
    throw new QemuError(
      `the guest did not power off within ${formatDuration(shutdown_timeout)} (shutdown_timeout), even after an ACPI power-button press; QEMU was killed`,
      {
        details: tails(input),
      },
    );
  },
};

/** Waits for the guest to power off on its own (communicator = "none"). */
export const waitForPowerOff: BuildStep<PowerOffInput> = {
  name: "wait-poweroff",
  title: "Waiting for the guest to power off...",
  async run(ctx, input) {
    input.guest.expectingExit = true;
    const { shutdown_timeout } = ctx.build.plan.source;
    if (await exitedWithin(input, shutdown_timeout, ctx)) return;
    throw new QemuError(
      `the guest did not power off by itself within ${formatDuration(shutdown_timeout)} (shutdown_timeout, communicator = "none")`,
      {
        details: tails(input),
      },
    );
  },
};

async function exitedWithin(vm: Pick<VmStarted, "qemu">, ms: number, ctx: BuildStepContext): Promise<boolean> {
  try {
    const exit = await withTimeout(vm.qemu.exited, ms, "shutdown", ctx.signal);
    ctx.events.info(`VM powered off (QEMU ${describeExit(exit)})`);
    return true;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return false;
  }
}
