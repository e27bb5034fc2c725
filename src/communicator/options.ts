// `[source]` options of how tsimg reaches the guest (SSH), the config type derived from them,
// the checks a table cannot express, and which values are secrets.
import { isFile, type Problem } from "../core/check-options.js";
import { PORT, secretValues, type ConfigOf, type OptionTable } from "../core/options.js";

/** `[source]`: how tsimg reaches the guest (SSH). */
export const COMMUNICATOR_OPTIONS = {
  communicator: {
    type: { enum: ["ssh", "none"] },
    default: "ssh",
    doc: "`none` skips SSH and provisioners and waits, up to `shutdown_timeout`, for the guest to power off by itself.",
    packer: "`communicator`",
  },
  ssh_username: {
    type: "string",
    doc: 'User to log in as. Required with `communicator = "ssh"`.',
    packer: "`ssh_username`",
  },
  ssh_password: {
    type: "string",
    secret: true,
    doc: "Password; masked as `<sensitive>` everywhere tsimg writes. If `boot_command` fetches a kickstart from tsimg's HTTP server, its plaintext `rootpw` (or the `user` line of `ssh_username`) must be this password: a mismatch is refused when the template loads, not after the install. With neither a password nor `ssh_private_key_file`, tsimg makes a temporary ed25519 key pair for the build and offers the public key as `{{ .SSHPublicKey }}` (boot_command, http_content, cd_content).",
    packer: "`ssh_password` (Packer also makes a temporary key then)",
  },
  ssh_private_key_file: {
    type: "path",
    doc: "Private key file, relative to the template.",
    packer: "`ssh_private_key_file`",
  },
  ssh_port: { type: "integer", ...PORT, default: 22, doc: "The guest's SSH port (1 to 65535).", packer: "`ssh_port`" },
  ssh_clear_authorized_keys: {
    type: "boolean",
    default: false,
    doc: "With the temporary key (no `ssh_password` and no `ssh_private_key_file`): remove its line from the user's `~/.ssh/authorized_keys` after provisioning, so the image does not trust a key nobody has.",
    packer: "`ssh_clear_authorized_keys`",
  },
  pause_before_connecting: {
    type: "duration",
    default: "0s",
    doc: "Wait this long after the first successful login, then log in again before provisioning (for systems that start sshd early and restart it, e.g. cloud-init).",
    packer: "`pause_before_connecting`",
  },
  ssh_keep_alive_interval: {
    type: "duration",
    default: "5s",
    doc: "Send an SSH keepalive this often; `0s` turns them off.",
    packer: "`ssh_keep_alive_interval`",
  },
  ssh_read_write_timeout: {
    type: "duration",
    default: "0s",
    doc: "Fail a remote command that produces no output and does not finish within this time (0: no limit).",
    packer: "`ssh_read_write_timeout`",
  },
  ssh_timeout: {
    type: "duration",
    default: "5m",
    doc: "How long to wait for SSH to come up (install plus reboot). On expiry the error shows the serial console's last lines. tsimg probes for sshd's banner every 50 ms, one probe at a time (each probe the guest accepts costs it an sshd fork).",
    packer: "`ssh_timeout` (Packer polls every 5-7 s)",
  },
  ssh_handshake_attempts: {
    type: "integer",
    min: 1,
    default: 10,
    doc: "Failed logins (after sshd answered) before the build fails, e.g. on a wrong password.",
    packer: "`ssh_handshake_attempts`",
  },
} as const satisfies OptionTable;

export type CommunicatorConfig = ConfigOf<typeof COMMUNICATOR_OPTIONS>;

/** The private key file exists; ssh_username is given with SSH. `raw` is [source] as written. */
export function checkCommunicator(source: CommunicatorConfig, raw: Record<string, unknown>, problems: Problem[]): void {
  if (source.ssh_private_key_file && !isFile(source.ssh_private_key_file)) {
    problems.push({
      path: ["source", "ssh_private_key_file"],
      message: `ssh_private_key_file: no such file ${source.ssh_private_key_file}`,
    });
  }
  // Only an absent or literally empty one: a wrong type, or a variable without a value, is reported already.
  if (source.communicator === "ssh" && (!("ssh_username" in raw) || raw.ssh_username === "")) {
    problems.push({
      path: ["source"],
      message: 'missing required key "ssh_username" (needed with communicator = "ssh")',
    });
  }
}

/** Values to mask in every output (ssh_password). */
export function communicatorSecrets(source: CommunicatorConfig): string[] {
  return secretValues(COMMUNICATOR_OPTIONS, source);
}
