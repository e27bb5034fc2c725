// Packer's option names -> tsimg's, for the qemu source, provisioners and post-processors of
// a Packer template (HCL2 or JSON). Most names are the same and pass through unchanged (the
// components' checks then judge them, with their own messages). Here: the few renamed, and
// the Packer options tsimg does not have, each named with what to do instead. An option
// whose value is what tsimg does anyway is a warning; any other value is an error. Nothing
// is dropped without a word.
import { resolve } from "node:path";
import { ConfigError } from "../../core/errors.js";
import type { Located } from "./hcl-evaluate.js";

/** Packer's name -> tsimg's, where they differ. */
const SOURCE_RENAMED: Record<string, string> = {
  ssh_wait_timeout: "ssh_timeout",
  ssh_host_port_min: "host_port_min",
  ssh_host_port_max: "host_port_max",
  ssh_pass: "ssh_password",
  ssh_key_path: "ssh_private_key_file",
};

interface Unsupported {
  /** What to do instead. */
  instead: string;
  /** A value meaning what tsimg does anyway: then only a warning. */
  harmless?: (value: unknown) => boolean;
}

const isFalse = (v: unknown) => v === false || v === "false";
const isEmpty = (v: unknown) => v === "" || v === null || (Array.isArray(v) && v.length === 0);

const SOURCE_UNSUPPORTED: Record<string, Unsupported> = {
  net_bridge: { instead: "tsimg uses QEMU's user-mode network only: remove it", harmless: isEmpty },
  vnc_use_password: { instead: "tsimg's VNC listens on localhost only: remove it", harmless: isFalse },
  skip_nat_mapping: { instead: "tsimg always forwards a host port to the guest's SSH: remove it", harmless: isFalse },
  use_pflash: {
    instead: "tsimg loads EFI firmware with pflash drives: use efi_boot, efi_firmware_code and efi_firmware_vars",
  },
  firmware: { instead: 'pass the BIOS with qemuargs = [["-bios", "<path>"]], or use efi_boot for UEFI' },
  tpm_device_type: {
    instead: "tsimg gives a tpm-tis device (tpm-crb for use_tpm1 = false on q35 is not offered): use vtpm",
    harmless: (v) => v === "tpm-tis",
  },
  boot_steps: { instead: "write the keys as boot_command (a list of strings)" },
  iso_target_path: {
    instead: "tsimg keeps downloaded ISOs in its own cache (TSIMG_CACHE_DIR): remove it",
    harmless: isEmpty,
  },
  iso_target_extension: {
    instead: "tsimg keeps downloaded ISOs in its own cache: remove it",
    harmless: (v) => v === "iso",
  },
  iso_checksum_type: { instead: 'deprecated in Packer too: write iso_checksum = "sha256:<hex>"' },
  iso_checksum_url: { instead: 'deprecated in Packer too: write iso_checksum = "file:<url>"' },
  ssh_host: { instead: "tsimg connects through the forwarded host port: remove it" },
  ssh_agent_auth: { instead: "use ssh_password or ssh_private_key_file", harmless: isFalse },
  ssh_disable_agent_forwarding: { instead: "tsimg never forwards an agent: remove it", harmless: () => true },
  ssh_pty: { instead: "tsimg runs commands without a pseudo-terminal: remove it", harmless: isFalse },
  ssh_file_transfer_method: { instead: "tsimg copies files with SFTP: remove it", harmless: (v) => v === "sftp" },
  ssh_certificate_file: { instead: "use ssh_private_key_file" },
  ssh_keypair_name: { instead: "use ssh_private_key_file" },
  temporary_key_pair_type: { instead: "use ssh_password or ssh_private_key_file" },
  temporary_key_pair_bits: { instead: "use ssh_password or ssh_private_key_file" },
  ssh_ciphers: { instead: "tsimg uses ssh2's defaults: remove it" },
  ssh_key_exchange_algorithms: { instead: "tsimg uses ssh2's defaults: remove it" },
  ssh_local_tunnels: { instead: "tunnels are not offered: run the command from a provisioner", harmless: isEmpty },
  ssh_remote_tunnels: { instead: "tunnels are not offered: run the command from a provisioner", harmless: isEmpty },
  ssh_proxy_host: { instead: "tsimg reaches the VM on localhost: remove it" },
  ssh_bastion_host: { instead: "tsimg reaches the VM on localhost: remove it" },
  http_network_protocol: {
    instead: "tsimg serves HTTP on IPv4 (http_bind_address): remove it",
    harmless: (v) => v === "tcp" || v === "tcp4",
  },
  boot_keygroup_interval: { instead: "tsimg types whole key groups: use boot_key_interval" },
};

const PROVISIONER_UNSUPPORTED: Record<string, Unsupported> = {
  skip_clean: { instead: "tsimg removes the uploaded script after running it: remove it", harmless: isFalse },
  start_retry_timeout: { instead: "use max_retries with pause_before" },
  use_env_var_file: { instead: "tsimg exports environment_vars in the command: remove it", harmless: isFalse },
  env_var_format: { instead: "tsimg writes VAR='value' for sh: remove it" },
  remote_path: { instead: "use remote_folder (the script's name is tsimg's)" },
  remote_file: { instead: "use remote_folder (the script's name is tsimg's)" },
  binary: { instead: "tsimg uploads every file as binary: remove it", harmless: () => true },
};

const POST_PROCESSOR_RENAMED: Record<string, string> = {};

/** Where a key is, for messages. */
export type Locate = (key: string) => Located;

interface Report {
  errors: ConfigError[];
  warnings: ConfigError[];
}

function apply(
  options: Record<string, unknown>,
  renamed: Record<string, string>,
  unsupported: Record<string, Unsupported>,
  what: string,
  locate: Locate,
  report: Report,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    const rule = unsupported[key];
    if (rule) {
      if (rule.harmless?.(value))
        report.warnings.push(new ConfigError(`${what}: "${key}" ignored: ${rule.instead}`, locate(key)));
      else
        report.errors.push(new ConfigError(`${what}: tsimg does not support "${key}": ${rule.instead}`, locate(key)));
      continue;
    }
    const name = renamed[key] ?? key;
    if (name !== key && key in options && name in options) {
      report.errors.push(
        new ConfigError(
          `${what}: both "${key}" and "${name}" are set (tsimg's name for "${key}" is "${name}"): keep one`,
          locate(key),
        ),
      );
      continue;
    }
    out[name] = value;
  }
  return out;
}

/**
 * A qemu source's options as tsimg's [source], with Packer's names for the build's files
 * (output-<source name>, packer-<source name>) where not given. Tables (http_content...)
 * come last, where a TOML file has them, so `tsimg import` keeps the order.
 */
export function mapSource(
  options: Record<string, unknown>,
  sourceName: string,
  what: string,
  locate: Locate,
  report: Report,
): Record<string, unknown> {
  const out = apply(options, SOURCE_RENAMED, SOURCE_UNSUPPORTED, what, locate, report);
  for (const key of Object.keys(out))
    if (key.startsWith("winrm_")) {
      report.errors.push(
        new ConfigError(
          `${what}: tsimg does not support "${key}": tsimg talks SSH only (communicator = "ssh")`,
          locate(key),
        ),
      );
      delete out[key];
    }
  out.output_directory ??= `output-${sourceName}`;
  out.vm_name ??= `packer-${sourceName}`;
  const isTable = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  const entries = Object.entries(out);
  return Object.fromEntries([...entries.filter(([, v]) => !isTable(v)), ...entries.filter(([, v]) => isTable(v))]);
}

/**
 * output_directory starts at the working directory, and the loader resolves it against
 * process.cwd(): with a workingDir given instead (serve), it is made absolute here.
 */
export function anchorOutput(source: Record<string, unknown>, inputs: { workingDir?: string }, cwd: string): void {
  if (inputs.workingDir !== undefined && typeof source.output_directory === "string")
    source.output_directory = resolve(cwd, source.output_directory);
}

const PROVISIONERS = ["shell", "file", "shell-local"];
const PROVISIONER_INSTEAD: Record<string, string> = {
  ansible: 'run ansible-playbook from a "shell-local" provisioner against the VM, or ansible-pull from a "shell" one',
  "ansible-local": 'install Ansible and run ansible-playbook from a "shell" provisioner',
  powershell: 'tsimg builds Linux guests over SSH: use a "shell" provisioner',
  "windows-restart": 'tsimg builds Linux guests over SSH: use a "shell" provisioner with expect_disconnect = true',
  "windows-shell": 'tsimg builds Linux guests over SSH: use a "shell" provisioner',
  breakpoint: "use --on-error=abort to keep the VM for inspection",
  puppet: 'run puppet apply from a "shell" provisioner',
  "puppet-masterless": 'run puppet apply from a "shell" provisioner',
  chef: 'run chef-client from a "shell" provisioner',
  "chef-solo": 'run chef-solo from a "shell" provisioner',
  salt: 'run salt-call from a "shell" provisioner',
  "salt-masterless": 'run salt-call from a "shell" provisioner',
  converge: 'run it from a "shell" provisioner',
  inspec: 'run it from a "shell-local" provisioner',
};

/** A provisioner as a tsimg [[provisioner]] table, or undefined (an error reported) when tsimg has no such type. */
export function mapProvisioner(
  type: string,
  options: Record<string, unknown>,
  what: string,
  locate: Locate,
  report: Report,
): Record<string, unknown> | undefined {
  if (!PROVISIONERS.includes(type)) {
    const instead =
      PROVISIONER_INSTEAD[type] ?? 'run it from a "shell" (in the VM) or "shell-local" (on the host) provisioner';
    report.errors.push(new ConfigError(`${what}: tsimg has no "${type}" provisioner: ${instead}`, locate("")));
    return undefined;
  }
  const out = apply(options, {}, PROVISIONER_UNSUPPORTED, what, locate, report);
  // Packer 1.9's shell `env = { K = "v" }` is environment_vars = ["K=v"] for tsimg.
  if (out.env !== undefined && typeof out.env === "object" && out.env !== null && !Array.isArray(out.env)) {
    const vars = Object.entries(out.env as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`);
    out.environment_vars = [...((out.environment_vars as string[] | undefined) ?? []), ...vars];
    delete out.env;
  }
  return { type, ...out };
}

/** Packer's post-processors tsimg has, and tsimg's own (a Packer template may use them too). */
const POST_PROCESSORS = ["checksum", "compress", "manifest", "shell-local", "upload", "notify"];

/** A post-processor as a tsimg [[post_processor]] table, or undefined (an error reported) when tsimg has no such type. */
export function mapPostProcessor(
  type: string,
  options: Record<string, unknown>,
  what: string,
  locate: Locate,
  report: Report,
): Record<string, unknown> | undefined {
  if (!POST_PROCESSORS.includes(type)) {
    const instead = /^(vagrant|vagrant-cloud)$/.test(type)
      ? 'build the box from the qcow2 with a "shell-local" post-processor'
      : 'upload the image with tsimg\'s "upload" post-processor (TOML), or run the tool from a "shell-local" post-processor';
    report.errors.push(new ConfigError(`${what}: tsimg has no "${type}" post-processor: ${instead}`, locate("")));
    return undefined;
  }
  return { type, ...apply(options, POST_PROCESSOR_RENAMED, {}, what, locate, report) };
}
