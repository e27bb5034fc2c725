import { rm } from "node:fs/promises";
import { QemuError, TimeoutError, TsimgError } from "../../core/errors.js";
import { formatDuration } from "../../core/units.js";
import { checkFailure, MINIMAL_CHECKS, runCheck } from "../../checks/run.js";
import { describeExit } from "../../qemu/process.js";
import { chooseLogin, startBootTestVm, type BootTestVm } from "../boot-test-vm.js";
import type { BuildStep } from "../context.js";
import { tails } from "../qemu-tails.js";
import { connectSsh } from "../ssh-connect.js";
import type { CompactedDisks, EfiVars, PreparedOutput, SshKeyMade, VmStarted } from "../values.js";

type BootTestInput = CompactedDisks &
  Pick<PreparedOutput, "workDir"> &
  Pick<VmStarted, "accelerator"> &
  Partial<SshKeyMade & EfiVars>;

/**
 * Boots the finished artifact on its own, behind a throwaway overlay, logs in and runs the
 * minimal checks and every `[[test]]`. A failing check fails the build, so no post-processor
 * publishes an image that does not boot or does not pass its checks. The VM is killed, not
 * shut down: nothing it wrote is kept.
 */
/** What the boot test leaves: how many checks passed and how long it took; the VM while it runs. */
export interface BootTested {
  bootTest: { passed: number; ms: number };
  vm?: BootTestVm;
}

export const bootTest: BuildStep<BootTestInput, BootTested> = {
  name: "boot-test",
  title: "Boot-testing the artifact...",
  async run(ctx, input, progress) {
    const { plan } = ctx.build;
    const source = plan.source;
    const started = Date.now();
    const timeout = source.boot_test_timeout ?? source.ssh_timeout;
    const login = await chooseLogin(source, input.tempKey, input.workDir, ctx.signal);
    if (!login)
      throw new TsimgError("boot test: tsimg has no way to log in to the finished image", {
        details: [
          'the temporary key was removed (ssh_clear_authorized_keys) and there is no NoCloud seed (cd_label = "cidata") to bring a new one',
          "set ssh_password or ssh_private_key_file, or boot_test = false",
        ],
      });
    ctx.events.info(`booting ${input.artifactPath} on a throwaway overlay; logging in with ${login.how}`);
    const vm = await startBootTestVm({
      source,
      accelerator: input.accelerator,
      workDir: input.workDir,
      disks: [input.artifactPath, ...input.additionalArtifacts],
      efiVarsPath: input.efiVarsPath,
      seedCd: login.seedCd,
      onOutput: (line) => ctx.events.debug(`qemu (boot test): ${line}`),
    });
    progress.vm = vm;
    // QEMU exiting (the image does not boot, or powers off) ends the wait at once.
    const stop = new AbortController();
    const onCancel = () => stop.abort(ctx.signal.reason);
    ctx.signal.addEventListener("abort", onCancel, { once: true });
    void vm.qemu.exited.then((exit) =>
      stop.abort(new QemuError(`boot test: QEMU ${describeExit(exit)} before the checks ran`, { details: tails(vm) })),
    );
    let session;
    try {
      session = await connectSsh(
        { ...source, ssh_timeout: timeout },
        { sshHostPort: vm.sshHostPort, qemu: vm.qemu, serial: vm.serial, tempKey: login.tempKey },
        stop.signal,
        (why) => ctx.events.debug(`boot test: ${why}`),
      );
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (stop.signal.aborted) throw stop.signal.reason as Error;
      if (error instanceof TimeoutError)
        throw new TsimgError(
          `boot test: the image did not answer SSH within ${formatDuration(timeout)} (boot_test_timeout)`,
          { details: tails(vm) },
        );
      throw error;
    } finally {
      ctx.signal.removeEventListener("abort", onCancel);
    }
    ctx.events.info(`boot test: SSH answered after ${formatDuration(Date.now() - started)}`);
    let passed = 0;
    try {
      for (const check of [...MINIMAL_CHECKS, ...plan.tests]) {
        const result = await runCheck(session, check, ctx.signal, (stream, line) =>
          ctx.events.emit({ type: "output", source: `test: ${check.name}`, stream, line }),
        );
        if (!result.passed) throw checkFailure(result);
        ctx.events.info(`boot test: passed "${check.name}"`);
        passed++;
      }
    } finally {
      session.close();
    }
    const ms = Date.now() - started;
    ctx.events.info(`boot test: ${passed} check(s) passed in ${formatDuration(ms)}`);
    await vm.qemu.kill();
    return { bootTest: { passed, ms } };
  },
  async cleanup(_ctx, input, done) {
    const vm = done.vm;
    if (vm && !vm.qemu.exit) await vm.qemu.kill();
    vm?.serial.stop();
    await Promise.all(
      [
        "boot-test-0.qcow2",
        "boot-test-1.qcow2",
        "boot-test-efivars.fd",
        "boot-test-seed.iso",
        "boot-test-serial.raw",
      ].map((f) => rm(`${input.workDir}/${f}`, { force: true })),
    );
  },
};
