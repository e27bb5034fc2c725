import type { Step } from "../../core/runner.js";
import type { QemuBuildState } from "../state.js";

/**
 * With neither ssh_password nor ssh_private_key_file, makes a temporary ed25519 key pair for
 * this build only (kept in memory); its public half is {{ .SSHPublicKey }} for boot_command,
 * http_content and cd_content, so a kickstart or a cloud-init seed can authorize it.
 */
export const sshKey: Step<QemuBuildState> = {
  name: "ssh-key",
  title: "Creating a temporary SSH key...",
  async run(ctx, state) {
    const { default: ssh2 } = await import("ssh2");
    const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment: `tsimg-${state.options.runUuid.slice(0, 8)}` });
    state.tempKey = { privateKey: pair.private, publicKey: pair.public.trim() };
    ctx.events.info(`temporary key: ${state.tempKey.publicKey.slice(0, 30)}... (ed25519, this build only)`);
  },
};
