import { sleep } from "../../core/abort.js";
import { formatDuration } from "../../core/units.js";
import type { BuildStep } from "../context.js";
import { connectSsh } from "../ssh-connect.js";
import type { SshConnected, SshKeyMade, VmStarted } from "../values.js";

/** Waits for the guest's sshd and logs in (install and reboot happen meanwhile). */
export const waitForSsh: BuildStep<
  Pick<VmStarted, "sshHostPort" | "qemu" | "serial"> & Partial<SshKeyMade>,
  SshConnected
> = {
  name: "wait-ssh",
  title: "Waiting for SSH...",
  async run(ctx, input, progress) {
    const source = ctx.build.plan.source;
    // The link lives on for provision and shutdown; the cleanup closes whatever session it holds then.
    const ssh = (progress.ssh ??= {});
    ssh.session = await connectSsh(source, input, ctx.signal, (why) => ctx.events.info(why));
    ctx.events.info("connected to SSH");
    const pause = source.pause_before_connecting;
    if (pause > 0) {
      // Some systems (cloud-init) restart sshd right after it first answers: log in again after the pause.
      ctx.events.info(`pause_before_connecting: waiting ${formatDuration(pause)}, then connecting again`);
      ssh.session.close();
      await sleep(pause, ctx.signal);
      ssh.session = await connectSsh(source, input, ctx.signal, (why) => ctx.events.info(why));
      ctx.events.info("connected to SSH");
    }
    return { ssh };
  },
  async cleanup(_ctx, _input, done) {
    done.ssh?.session?.close();
  },
};
