import type { BuildStep } from "../context.js";
import type { SshKeyMade } from "../values.js";

/**
 * With neither ssh_password nor ssh_private_key_file, makes a temporary ed25519 key pair for
 * this build only (kept in memory); its public half is {{ .SSHPublicKey }} for boot_command,
 * http_content and cd_content, so a kickstart or a cloud-init seed can authorize it.
 */
export const sshKey: BuildStep<object, SshKeyMade> = {
  name: "ssh-key",
  title: "Creating a temporary SSH key...",
  async run(ctx) {
    const { default: ssh2 } = await import("ssh2");
    const pair = ssh2.utils.generateKeyPairSync("ed25519", {
      comment: `tsimg-${ctx.build.options.runUuid.slice(0, 8)}`,
    });
    const tempKey = { privateKey: pair.private, publicKey: pair.public.trim() };
    ctx.events.info(`temporary key: ${tempKey.publicKey.slice(0, 30)}... (ed25519, this build only)`);
    return { tempKey };
  },
};
