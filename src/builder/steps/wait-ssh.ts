import type { SshSession } from "../../communicator/ssh.js";
import { TimeoutError } from "../../core/errors.js";
import { signalWithTimeout, sleep } from "../../core/abort.js";
import type { Step } from "../../core/runner.js";
import { formatDuration } from "../../core/units.js";
import type { QemuBuildState } from "../state.js";
import { tails } from "./start-qemu.js";

/** Waits for the guest's sshd and logs in (install and reboot happen meanwhile). */
export const waitForSsh: Step<QemuBuildState> = {
  name: "wait-ssh",
  title: "Waiting for SSH...",
  async run(ctx, state) {
    state.ssh = await connectSsh(state, ctx.signal, (why) => ctx.events.info(why));
    ctx.events.info("connected to SSH");
    const pause = state.plan.source.pause_before_connecting;
    if (pause > 0) {
      // Some systems (cloud-init) restart sshd right after it first answers: log in again after the pause.
      ctx.events.info(`pause_before_connecting: waiting ${formatDuration(pause)}, then connecting again`);
      state.ssh.close();
      await sleep(pause, ctx.signal);
      state.ssh = await connectSsh(state, ctx.signal, (why) => ctx.events.info(why));
      ctx.events.info("connected to SSH");
    }
  },
  async cleanup(_ctx, state) {
    state.ssh?.close();
  },
};

/** Connects within ssh_timeout, racing the build's signal; a timeout shows the serial tail. */
export async function connectSsh(state: QemuBuildState, signal: AbortSignal, onRetry: (why: string) => void): Promise<SshSession> {
  const s = state.plan.source;
  const limit = signalWithTimeout(signal, s.ssh_timeout);
  // ssh2 takes ~70 ms to load: loaded here, while the guest boots, not before QEMU starts.
  const { SshSession: Session } = await import("../../communicator/ssh.js");
  try {
    return await Session.connect(
      {
        host: "127.0.0.1",
        port: state.sshHostPort!,
        username: s.ssh_username ?? "root",
        ...(s.ssh_password !== undefined ? { password: s.ssh_password } : {}),
        ...(s.ssh_private_key_file ? { privateKeyFile: s.ssh_private_key_file } : {}),
        ...(state.tempKey ? { privateKey: state.tempKey.privateKey } : {}),
        keepAliveIntervalMs: s.ssh_keep_alive_interval,
        readWriteTimeoutMs: s.ssh_read_write_timeout,
        handshakeAttempts: s.ssh_handshake_attempts,
      },
      limit.signal,
      onRetry,
    );
  } catch (error) {
    if (limit.timedOut && !signal.aborted) {
      throw new TimeoutError(`timed out after ${formatDuration(s.ssh_timeout)} waiting for SSH (ssh_timeout)`, { details: tails(state) });
    }
    throw error;
  } finally {
    limit.clear();
  }
}
