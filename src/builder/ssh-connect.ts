// Logging in to the guest over the forwarded SSH port: wait-ssh does it first, provision
// again after a provisioner dropped the connection on purpose.
import type { SshSession } from "../communicator/ssh.js";
import { signalWithTimeout } from "../core/abort.js";
import { TimeoutError } from "../core/errors.js";
import { formatDuration } from "../core/units.js";
import type { SourceConfig } from "./plan.js";
import { tails, type VmOutput } from "./qemu-tails.js";

/** The temporary key pair ssh-key makes when the template names no credentials. */
export interface TempKey {
  privateKey: string;
  publicKey: string;
}

/** Where to log in: start-qemu's port forward, and ssh-key's key when there is one. */
export interface SshTarget extends VmOutput {
  sshHostPort: number;
  tempKey?: TempKey | undefined;
}

/** Connects within ssh_timeout, racing the build's signal; a timeout shows the serial tail. */
export async function connectSsh(
  source: SourceConfig,
  target: SshTarget,
  signal: AbortSignal,
  onRetry: (why: string) => void,
): Promise<SshSession> {
  const s = source;
  const limit = signalWithTimeout(signal, s.ssh_timeout);
  // ssh2 takes ~70 ms to load: loaded here, while the guest boots, not before QEMU starts.
  const { SshSession: Session } = await import("../communicator/ssh.js");
  try {
    return await Session.connect(
      {
        host: "127.0.0.1",
        port: target.sshHostPort,
        username: s.ssh_username ?? "root",
        ...(s.ssh_password !== undefined ? { password: s.ssh_password } : {}),
        ...(s.ssh_private_key_file ? { privateKeyFile: s.ssh_private_key_file } : {}),
        ...(target.tempKey ? { privateKey: target.tempKey.privateKey } : {}),
        keepAliveIntervalMs: s.ssh_keep_alive_interval,
        readWriteTimeoutMs: s.ssh_read_write_timeout,
        handshakeAttempts: s.ssh_handshake_attempts,
      },
      limit.signal,
      onRetry,
    );
  } catch (error) {
    if (limit.timedOut && !signal.aborted) {
      throw new TimeoutError(`timed out after ${formatDuration(s.ssh_timeout)} waiting for SSH (ssh_timeout)`, {
        details: tails(target),
      });
    }
    throw error;
  } finally {
    limit.clear();
  }
}
