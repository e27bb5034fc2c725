import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { QemuError, TsimgError } from "../../core/errors.js";
import { raceAbort, sleep, withTimeout } from "../../core/abort.js";
import type { EventBus } from "../../core/event-bus.js";
import { findFreePort } from "../../util/ports.js";
import { assertQemuBinary, probeAccelerator } from "../../qemu/accel.js";
import { buildQemuArgv, formatCommandLine } from "../../qemu/argv.js";
import { describeExit, startQemu as spawnQemu, type QemuProcess } from "../../qemu/process.js";
import { QmpClient } from "../../qemu/qmp.js";
import { SerialFollower } from "../../qemu/serial.js";
import { renderRuntime } from "../../core/runtime-vars.js";
import type { SourceConfig } from "../plan.js";
import { tails } from "../qemu-tails.js";
import { writeSerialLog } from "../serial-log.js";
import { runtimeValues, type BuildStep, type BuildStepContext } from "../context.js";
import { MEMORY } from "../../cache/store.js";
import { formatDuration } from "../../core/units.js";
import { restoreMemory } from "../layer-vm.js";
import type { LayerRun } from "../layers.js";
import type {
  CreatedDisks,
  EfiVars,
  FetchedIso,
  HttpServing,
  PreparedOutput,
  SeedCd,
  SeedFloppy,
  LayersPlanned,
  SshKeyMade,
  TpmStarted,
  VmStarted,
} from "../values.js";

const QMP_CONNECT_LIMIT_MS = 15_000;

/** What QEMU is started with: the disks, media and sockets of the steps before. */
type StartInput = Pick<PreparedOutput, "workDir" | "diskPath"> &
  FetchedIso &
  Pick<CreatedDisks, "additionalDisks"> &
  HttpServing &
  Partial<SshKeyMade & SeedCd & SeedFloppy & EfiVars & Pick<TpmStarted, "tpmSocket"> & LayersPlanned>;

/** Starts QEMU with a QMP socket and user networking; QEMU dying later fails the build at once. */
export const startQemu: BuildStep<StartInput, VmStarted> = {
  name: "start-qemu",
  title: "Starting VM...",
  async run(ctx, input, progress) {
    const { plan } = ctx.build;
    const source = plan.source;
    // Shared with the exit watcher and the cleanup from the start, and with later steps after.
    const guest = (progress.guest ??= { resets: 0, expectingExit: false });
    const accelerator = (progress.accelerator = await chooseAccelerator(source, ctx.events));
    const sshHostPort = (progress.sshHostPort = await findFreePort(
      source.host_port_min,
      source.host_port_max,
      "127.0.0.1",
      "the SSH port forward (host_port_min..host_port_max)",
    ));
    const values = runtimeValues(plan, { ...input, sshHostPort });
    const userArgs = source.qemuargs.map((arg) => arg.map((part) => renderRuntime(part, values, "qemuargs")));
    const appendArgs = source.qemuargs_append.map((arg) =>
      arg.map((part) => renderRuntime(part, values, "qemuargs_append")),
    );
    const vncPort = source.vnc_bind_address
      ? await findFreePort(
          source.vnc_port_min,
          source.vnc_port_max,
          source.vnc_bind_address,
          "VNC (vnc_port_min..vnc_port_max)",
        )
      : undefined;
    const window = !source.headless && Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
    if (!source.headless && !window) ctx.events.info("headless = false, but there is no display: running headless");
    const qmpSocket = join(input.workDir, "qmp.sock");
    const rawSerial = join(input.workDir, "serial.raw");
    const argv = buildQemuArgv({
      source,
      accelerator,
      diskPath: input.diskPath,
      additionalDisks: input.additionalDisks,
      ...(source.disk_image ? {} : { isoPath: input.isoPath }),
      ...(input.seedCdPath ? { seedCdPath: input.seedCdPath } : {}),
      ...(input.floppyPath ? { floppyPath: input.floppyPath } : {}),
      ...(input.tpmSocket ? { tpmSocket: input.tpmSocket } : {}),
      ...(input.efiVarsPath ? { efiVarsPath: input.efiVarsPath } : {}),
      ...(vncPort === undefined ? {} : { vncPort }),
      sshHostPort,
      qmpSocket,
      serialLog: rawSerial,
      window,
      userArgs,
      appendArgs,
      bootDisk: input.layers?.restored !== undefined,
    });
    for (const line of argv.replaced) ctx.events.info(line);
    if (vncPort !== undefined)
      ctx.events.info(`VNC: watch the console at ${source.vnc_bind_address}:${vncPort} (display :${vncPort - 5900})`);
    ctx.events.debug(`QEMU command line: ${formatCommandLine(source.qemu_binary, argv.args)}`);

    const launch = async (incoming: boolean) => {
      if (argv.serialPath) {
        // tsimg's own capture gets a masked copy in the output directory; a -serial file:PATH of the user's stays theirs, as written.
        if (argv.serialPath === rawSerial && !progress.serialLog)
          progress.serialLog = writeSerialLog(ctx.events, join(source.output_directory, "serial.log"));
        progress.serial?.stop();
        progress.serial = new SerialFollower(resolve(argv.serialPath), (line) =>
          ctx.events.emit({ type: "serial", line }),
        );
        progress.serial.start();
      } else if (!incoming) {
        ctx.events.warn("qemuargs -serial does not write to a file: tsimg cannot show the guest's console");
      }
      const serial = progress.serial;
      const qemu = spawnQemu({
        binary: source.qemu_binary,
        args: incoming ? [...argv.args, "-incoming", "defer"] : argv.args,
        onOutput: (line) => ctx.events.debug(`qemu: ${line}`),
      });
      progress.qemu = qemu;
      void qemu.exited.then((exit) => {
        if (guest.expectingExit) return;
        const hint =
          exit.code === 0
            ? " (the guest powered itself off: does the kickstart end with poweroff instead of reboot?)"
            : "";
        ctx.build.fail(
          new QemuError(`QEMU ${describeExit(exit)} unexpectedly${hint}`, { details: tails({ qemu, serial }) }),
        );
      });
      const qmp = (progress.qmp = await connectQmp(qmpSocket, qemu, serial, ctx.signal));
      return { qemu, qmp };
    };
    const memory = input.layers && memoryOfRestored(input.layers);
    let { qemu, qmp } = await launch(memory !== undefined);
    if (memory) ({ qemu, qmp } = await resumeOrBoot(ctx, input.layers!, memory, guest, { qemu, qmp }, launch));
    const serial = progress.serial;
    ctx.build.console.attach({ qemu, qmp, workDir: input.workDir });
    let lastReset = 0;
    qmp.on("event", (event: { event: string }) => {
      // A guest reboot can raise RESET twice in a row; say it once.
      if (event.event === "RESET" && Date.now() - lastReset > 2000) ctx.events.info("guest rebooted");
      if (event.event === "RESET") {
        lastReset = Date.now();
        guest.resets++;
      } else if (event.event === "SHUTDOWN") ctx.events.debug("guest shut down");
    });
    ctx.events.info(
      `VM started (pid ${qemu.pid}, accelerator ${accelerator}, SSH forwarded from 127.0.0.1:${sshHostPort})`,
    );
    return { accelerator, sshHostPort, guest, qemu, qmp, serial, serialLog: progress.serialLog };
  },
  async cleanup(ctx, _input, vm, outcome) {
    if (vm.guest) vm.guest.expectingExit = true;
    const { qemu, qmp } = vm;
    // A failed build's last screen often says why (an installer's error dialog): keep it
    // beside the output directory, which the cleanup removes.
    if (outcome === "failed" && qemu && !qemu.exit && qmp && !qmp.isClosed) {
      const path = `${ctx.build.plan.source.output_directory}.failure.png`;
      try {
        await withTimeout(qmp.execute("screendump", { filename: path, format: "png" }), 5000, "screendump");
        ctx.build.console.failureScreenshot = path;
        ctx.events.emit({ type: "screenshot", path });
      } catch (error) {
        ctx.events.debug(`no console screenshot: ${(error as Error).message}`);
      }
    }
    if (qemu && !qemu.exit) await stopQemu(qemu, qmp);
    qmp?.close();
    vm.serial?.stop();
    await vm.serialLog?.close();
  },
};

/** The memory saved with the restored layer, when it has one. */
function memoryOfRestored(run: LayerRun): string | undefined {
  const restored = run.restored;
  return restored?.files[MEMORY] ? run.store.memoryOf(restored.key) : undefined;
}

/**
 * Runs the guest on from the restored layer's memory; when QEMU cannot load it (a machine
 * that differs in a way the key does not see), boots the cached disk instead: slower, as correct.
 */
async function resumeOrBoot(
  ctx: BuildStepContext,
  run: LayerRun,
  memory: string,
  guest: VmStarted["guest"],
  vm: Pick<VmStarted, "qemu" | "qmp">,
  launch: (incoming: boolean) => Promise<Pick<VmStarted, "qemu" | "qmp">>,
): Promise<Pick<VmStarted, "qemu" | "qmp">> {
  const t0 = Date.now();
  guest.expectingExit = true;
  try {
    await Promise.race([
      // The memory file's hash (begun at the layer lookup) is checked while QEMU loads it.
      restoreMemory(vm.qmp, memory, ctx.signal, run.memoryIntact),
      vm.qemu.exited.then((exit) => Promise.reject(new QemuError(`QEMU ${describeExit(exit)}`))),
    ]);
    guest.expectingExit = false;
    run.resumedFromMemory = true;
    ctx.events.info(
      `layer cache: the guest runs on from the layer's memory (loaded in ${formatDuration(Date.now() - t0)}), no boot`,
    );
    return vm;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const why = [(error as Error).message, ...vm.qemu.stderrTail().slice(-2)].join("; ");
    ctx.events.warn(`layer cache: the layer's memory could not be loaded (${why}): booting its disk instead`);
    await stopQemu(vm.qemu, vm.qmp);
    vm.qmp.close();
    guest.expectingExit = false;
    return launch(false);
  }
}

async function chooseAccelerator(source: SourceConfig, events: EventBus): Promise<string> {
  if (source.accelerator !== "auto" && source.accelerator !== "kvm") {
    await assertQemuBinary(source.qemu_binary);
    return source.accelerator;
  }
  const kvm = await probeAccelerator(source.qemu_binary, "kvm");
  if (kvm.ok) return "kvm";
  if (source.accelerator === "kvm") {
    throw new TsimgError(`accelerator = "kvm", but KVM cannot run a guest on this host: ${kvm.reason}`, {
      details: ['use accelerator = "auto" to fall back to TCG (much slower), or fix KVM on this host'],
    });
  }
  events.warn(`KVM cannot run a guest on this host (${kvm.reason}): falling back to TCG, which is much slower`);
  return "tcg";
}

async function connectQmp(
  path: string,
  qemu: QemuProcess,
  serial: SerialFollower | undefined,
  signal: AbortSignal,
): Promise<QmpClient> {
  const deadline = Date.now() + QMP_CONNECT_LIMIT_MS;
  for (;;) {
    if (qemu.exit)
      throw new QemuError(`QEMU ${describeExit(qemu.exit)} at start`, { details: tails({ qemu, serial }) });
    if (existsSync(path)) {
      try {
        return await raceAbort(withTimeout(QmpClient.connect(path), 5000, "QMP did not answer"), signal);
      } catch (error) {
        if (signal.aborted) throw error;
      }
    }
    if (Date.now() > deadline)
      throw new QemuError(`QEMU's QMP socket did not come up within ${QMP_CONNECT_LIMIT_MS / 1000} s`, {
        details: tails({ qemu, serial }),
      });
    await sleep(20, signal);
  }
}

/** Asks QEMU to quit over QMP, then SIGKILLs its process group if it lingers. */
export async function stopQemu(qemu: QemuProcess, qmp: QmpClient | undefined): Promise<void> {
  if (qmp && !qmp.isClosed) {
    await withTimeout(qmp.execute("quit"), 1000, "quit").catch(() => undefined);
    await withTimeout(qemu.exited, 2000, "exit").catch(() => undefined);
  }
  if (!qemu.exit) await qemu.kill();
}
