import { TimeoutError, TsimgError } from "../../core/errors.js";
import { formatDuration } from "../../core/units.js";
import type { ProvisionerCommon, ProvisionerConfig } from "../../provisioners/options.js";
import { runProvisioner } from "../../provisioners/run.js";
import { renderBuildValues } from "../../core/runtime-vars.js";
import { buildValues, runtimeValues, type BuildStep, type BuildStepContext } from "../context.js";
import { connectSsh, type TempKey } from "../ssh-connect.js";
import type { GuestState, HttpServing, LayersPlanned, SshConnected, SshKeyMade, VmStarted } from "../values.js";
import { saveLayer } from "../layers.js";
import { signalWithTimeout, sleep } from "../../core/abort.js";

const REBOOT_GRACE_MS = 15_000;

/**
 * After a provisioner dropped the connection on purpose: if the guest is rebooting, the
 * old sshd may still answer for a moment, and a session opened on it dies mid-script. So
 * wait (briefly) for QEMU to report the guest's reset before reconnecting; a script that
 * only restarted sshd gets no reset, and we reconnect after the grace period.
 */
async function waitForReboot(
  guest: GuestState,
  resetsBefore: number,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + REBOOT_GRACE_MS;
  while (guest.resets === resetsBefore && Date.now() < deadline) await sleep(50, signal);
  say(guest.resets > resetsBefore ? "the guest rebooted; waiting for SSH again" : "no reboot seen; reconnecting");
}

/** Runs the provisioners in order over the SSH session; reconnects after an expected disconnect. */
/** What provisioning reads: the SSH link, the VM (for reboots and error details), and what {{ .X }} may name. */
type ProvisionInput = SshConnected &
  Pick<VmStarted, "guest" | "sshHostPort" | "qemu" | "serial" | "qmp"> &
  HttpServing &
  Partial<SshKeyMade & LayersPlanned>;

export const provision: BuildStep<ProvisionInput> = {
  name: "provision",
  title: "Provisioning...",
  async run(ctx, input) {
    const { plan } = ctx.build;
    const { ssh } = input;
    const buildEnv = {
      PACKER_BUILD_NAME: plan.image.name,
      PACKER_BUILDER_TYPE: "qemu",
      TSIMG_BUILD_NAME: plan.image.name,
      PACKER_HTTP_ADDR: `10.0.2.2:${input.http.port}`,
      TSIMG_SSH_HOST_PORT: String(input.sshHostPort),
    };
    for (const [index, config] of plan.provisioners.entries()) {
      const label = `provisioner ${index + 1}/${plan.provisioners.length}: ${config.type}`;
      const layers = input.layers;
      // Its result is in the cached layer the build continued from.
      if (layers?.restored && index + 1 <= layers.restored.index) {
        ctx.events.info(`${label}: done in cached layer ${index + 1}`);
        continue;
      }
      await runOne(ctx, input, config, label, buildEnv);
      if (layers && index + 1 <= layers.last)
        await saveLayer(ctx, layers, index + 1, input.qmp, input.tempKey && JSON.stringify(input.tempKey), ssh.session);
    }
    if (input.tempKey && plan.source.ssh_clear_authorized_keys) await clearTemporaryKey(ctx, input, input.tempKey);
  },
};

/** Runs one provisioner, with pause_before, timeout, max_retries and pause_after; reconnects after an expected disconnect. */
async function runOne(
  ctx: BuildStepContext,
  input: ProvisionInput,
  config: ProvisionerConfig,
  label: string,
  buildEnv: Record<string, string>,
): Promise<void> {
  const { plan } = ctx.build;
  const { ssh } = input;
  const skip = skipReason(config, plan.image.name);
  if (skip) {
    ctx.events.info(`${label}: skipped (${skip})`);
    return;
  }
  ctx.events.info(label);
  if (config.pause_before > 0) {
    ctx.events.info(`pause_before: waiting ${formatDuration(config.pause_before)}`);
    await sleep(config.pause_before, ctx.signal);
  }
  for (let attempt = 0; ; attempt++) {
    ssh.session ??= await connectSsh(plan.source, input, ctx.signal, (why) => ctx.events.info(why));
    const resetsBefore = input.guest.resets;
    const limit = config.timeout > 0 ? signalWithTimeout(ctx.signal, config.timeout) : undefined;
    const signal = limit?.signal ?? ctx.signal;
    try {
      const values = buildValues(plan, ctx.build.options.runUuid, input);
      const result = await runProvisioner(renderBuildValues(config, values, label), {
        ssh: ssh.session,
        events: ctx.events,
        signal,
        runtime: runtimeValues(plan, input),
        buildEnv,
        templateDir: plan.templateDir,
      });
      if (result.disconnected) {
        ssh.session.close();
        delete ssh.session;
        await waitForReboot(input.guest, resetsBefore, ctx.signal, (line) => ctx.events.info(line));
      }
      break;
    } catch (thrown) {
      if (ctx.signal.aborted) throw thrown;
      const error = limit?.timedOut
        ? new TimeoutError(`${label}: still running after ${formatDuration(config.timeout)} (timeout)`)
        : (thrown as Error);
      if (attempt >= config.max_retries) throw error;
      ctx.events.warn(
        `${label} failed (${error.message}); retry ${attempt + 1} of ${config.max_retries} (max_retries)`,
      );
      // The session may be what broke: the retry starts on a fresh one.
      ssh.session?.close();
      delete ssh.session;
    } finally {
      limit?.clear();
    }
  }
  if (config.pause_after > 0) {
    ctx.events.info(`pause_after: waiting ${formatDuration(config.pause_after)}`);
    await sleep(config.pause_after, ctx.signal);
  }
}

/** ssh_clear_authorized_keys: removes the temporary key's line, so the image trusts no key nobody holds. */
async function clearTemporaryKey(ctx: BuildStepContext, input: ProvisionInput, tempKey: TempKey): Promise<void> {
  const session = (input.ssh.session ??= await connectSsh(ctx.build.plan.source, input, ctx.signal, (why) =>
    ctx.events.info(why),
  ));
  const key = tempKey.publicKey.split(" ")[1]!;
  // grep -F: the base64 key is a fixed string. grep -v exits 1 when no line is left, which is fine.
  const command = `f=~/.ssh/authorized_keys; if [ -f "$f" ]; then grep -vF '${key}' "$f" > "$f.tsimg"; cat "$f.tsimg" > "$f"; rm -f "$f.tsimg"; fi`;
  const result = await session.exec(command, (stream, line) =>
    ctx.events.emit({ type: "output", source: "ssh_clear_authorized_keys", stream, line }),
  );
  if (result.code !== 0)
    throw new TsimgError(
      `ssh_clear_authorized_keys: removing the temporary key failed (exit ${result.code ?? "none"})`,
    );
  ctx.events.info("ssh_clear_authorized_keys: removed the temporary key from ~/.ssh/authorized_keys");
}

/** Why only/except leave this provisioner out of the build named `name`, if they do. */
export function skipReason(config: ProvisionerCommon, name: string): string | undefined {
  const names = [name, `qemu.${name}`];
  if (config.only && !config.only.some((n) => names.includes(n)))
    return `only = [${config.only.map((n) => `"${n}"`).join(", ")}]`;
  if (config.except?.some((n) => names.includes(n)))
    return `except = [${config.except.map((n) => `"${n}"`).join(", ")}]`;
  return undefined;
}
