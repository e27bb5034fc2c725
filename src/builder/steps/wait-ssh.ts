import { sleep } from "../../core/abort.js";
import type { Step } from "../../core/runner.js";
import { formatDuration } from "../../core/units.js";
import type { QemuBuildState } from "../state.js";
import { connectSsh } from "../ssh-connect.js";

/** Waits for the guest's sshd and logs in (install and reboot happen meanwhile). */
export const waitForSsh: Step<QemuBuildState> = {
  name: "wait-ssh",
  title: "Waiting for SSH...",
  async run(ctx, state) {
    state.ssh = await connectSsh(state.plan.source, { ...state, sshHostPort: state.sshHostPort! }, ctx.signal, (why) => ctx.events.info(why));
    ctx.events.info("connected to SSH");
    const pause = state.plan.source.pause_before_connecting;
    if (pause > 0) {
      // Some systems (cloud-init) restart sshd right after it first answers: log in again after the pause.
      ctx.events.info(`pause_before_connecting: waiting ${formatDuration(pause)}, then connecting again`);
      state.ssh.close();
      await sleep(pause, ctx.signal);
      state.ssh = await connectSsh(state.plan.source, { ...state, sshHostPort: state.sshHostPort! }, ctx.signal, (why) => ctx.events.info(why));
      ctx.events.info("connected to SSH");
    }
  },
  async cleanup(_ctx, state) {
    state.ssh?.close();
  },
};
