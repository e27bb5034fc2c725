import type { Step, StepContext } from "../../core/runner.js";
import { TimeoutError, TsimgError } from "../../core/errors.js";
import { formatDuration } from "../../core/units.js";
import type { ProvisionerCommon } from "../../provisioners/options.js";
import { runProvisioner } from "../../provisioners/run.js";
import { runtimeValues, type QemuBuildState } from "../state.js";
import { connectSsh } from "../ssh-connect.js";
import { signalWithTimeout, sleep } from "../../core/abort.js";

const REBOOT_GRACE_MS = 15_000;

/**
 * After a provisioner dropped the connection on purpose: if the guest is rebooting, the
 * old sshd may still answer for a moment, and a session opened on it dies mid-script. So
 * wait (briefly) for QEMU to report the guest's reset before reconnecting; a script that
 * only restarted sshd gets no reset, and we reconnect after the grace period.
 */
async function waitForReboot(state: QemuBuildState, resetsBefore: number, signal: AbortSignal, say: (line: string) => void): Promise<void> {
  const deadline = Date.now() + REBOOT_GRACE_MS;
  while ((state.resets ?? 0) === resetsBefore && Date.now() < deadline) await sleep(50, signal);
  say((state.resets ?? 0) > resetsBefore ? "the guest rebooted; waiting for SSH again" : "no reboot seen; reconnecting");
}

/** Runs the provisioners in order over the SSH session; reconnects after an expected disconnect. */
export const provision: Step<QemuBuildState> = {
  name: "provision",
  title: "Provisioning...",
  async run(ctx, state) {
    const { plan } = state;
    const buildEnv = {
      PACKER_BUILD_NAME: plan.image.name,
      PACKER_BUILDER_TYPE: "qemu",
      TSIMG_BUILD_NAME: plan.image.name,
      PACKER_HTTP_ADDR: `10.0.2.2:${state.http?.port ?? ""}`,
      TSIMG_SSH_HOST_PORT: String(state.sshHostPort ?? ""),
    };
    for (const [index, config] of plan.provisioners.entries()) {
      const label = `provisioner ${index + 1}/${plan.provisioners.length}: ${config.type}`;
      const skip = skipReason(config, plan.image.name);
      if (skip) {
        ctx.events.info(`${label}: skipped (${skip})`);
        continue;
      }
      ctx.events.info(label);
      if (config.pause_before > 0) {
        ctx.events.info(`pause_before: waiting ${formatDuration(config.pause_before)}`);
        await sleep(config.pause_before, ctx.signal);
      }
      for (let attempt = 0; ; attempt++) {
        if (!state.ssh) state.ssh = await connectSsh(state.plan.source, { ...state, sshHostPort: state.sshHostPort! }, ctx.signal, (why) => ctx.events.info(why));
        const resetsBefore = state.resets ?? 0;
        const limit = config.timeout > 0 ? signalWithTimeout(ctx.signal, config.timeout) : undefined;
        const signal = limit?.signal ?? ctx.signal;
        try {
          const result = await runProvisioner(config, { ssh: state.ssh, events: ctx.events, signal, runtime: runtimeValues(state), buildEnv, templateDir: plan.templateDir });
          if (result.disconnected) {
            state.ssh.close();
            delete state.ssh;
            await waitForReboot(state, resetsBefore, ctx.signal, (line) => ctx.events.info(line));
          }
          break;
        } catch (thrown) {
          if (ctx.signal.aborted) throw thrown;
          const error = limit?.timedOut ? new TimeoutError(`${label}: still running after ${formatDuration(config.timeout)} (timeout)`) : (thrown as Error);
          if (attempt >= config.max_retries) throw error;
          ctx.events.warn(`${label} failed (${error.message}); retry ${attempt + 1} of ${config.max_retries} (max_retries)`);
          // The session may be what broke: the retry starts on a fresh one.
          state.ssh?.close();
          delete state.ssh;
        } finally {
          limit?.clear();
        }
      }
    }
    if (state.tempKey && plan.source.ssh_clear_authorized_keys) await clearTemporaryKey(state, ctx);
  },
};

/** ssh_clear_authorized_keys: removes the temporary key's line, so the image trusts no key nobody holds. */
async function clearTemporaryKey(state: QemuBuildState, ctx: StepContext): Promise<void> {
  state.ssh ??= await connectSsh(state.plan.source, { ...state, sshHostPort: state.sshHostPort! }, ctx.signal, (why) => ctx.events.info(why));
  const key = state.tempKey!.publicKey.split(" ")[1]!;
  // grep -F: the base64 key is a fixed string. grep -v exits 1 when no line is left, which is fine.
  const command = `f=~/.ssh/authorized_keys; if [ -f "$f" ]; then grep -vF '${key}' "$f" > "$f.tsimg"; cat "$f.tsimg" > "$f"; rm -f "$f.tsimg"; fi`;
  const result = await state.ssh.exec(command, (stream, line) => ctx.events.emit({ type: "output", source: "ssh_clear_authorized_keys", stream, line }));
  if (result.code !== 0) throw new TsimgError(`ssh_clear_authorized_keys: removing the temporary key failed (exit ${result.code ?? "none"})`);
  ctx.events.info("ssh_clear_authorized_keys: removed the temporary key from ~/.ssh/authorized_keys");
}

/** Why only/except leave this provisioner out of the build named `name`, if they do. */
export function skipReason(config: ProvisionerCommon, name: string): string | undefined {
  const names = [name, `qemu.${name}`];
  if (config.only && !config.only.some((n) => names.includes(n))) return `only = [${config.only.map((n) => `"${n}"`).join(", ")}]`;
  if (config.except?.some((n) => names.includes(n))) return `except = [${config.except.map((n) => `"${n}"`).join(", ")}]`;
  return undefined;
}
