// The resolved, validated form of a template: plain data the engine runs.
import type { PostProcessorConfig } from "../postprocessors/types.js";
import type { LocalScriptsConfig } from "../util/run-local.js";

/** `[image]`: the image's identity, copied into events and the manifest. */
export interface ImageMeta {
  name: string;
  version?: string;
  [key: string]: unknown;
}

export type Accelerator = "auto" | "kvm" | "tcg" | "xen" | "hax" | "hvf" | "whpx" | "none";

/** `[source]` after defaults, unit parsing (MiB, ms) and path resolution (absolute). */
export interface SourceConfig {
  /** The ISO as written in iso_url, or the first of iso_urls: an absolute path or an http(s) URL. */
  iso_url: string;
  /** Every place to try, in order: absolute paths and http(s) URLs. */
  iso_urls?: string[];
  iso_checksum: string;
  output_directory: string;
  vm_name: string;
  format: "qcow2" | "raw";
  disk_image: boolean;
  use_backing_file: boolean;
  skip_resize_disk: boolean;
  disk_size: number;
  /** MiB each. */
  disk_additional_size: number[];
  qemu_img_args: { create: string[]; convert: string[]; resize: string[] };
  disk_interface: "virtio" | "virtio-scsi" | "scsi" | "ide" | "sata";
  disk_cache: string;
  disk_discard: "ignore" | "unmap";
  disk_detect_zeroes: "off" | "on" | "unmap";
  memory: number;
  cpus: number;
  sockets: number;
  cores: number;
  threads: number;
  cpu_model?: string;
  vga?: string;
  display?: string;
  use_default_display: boolean;
  efi_boot: boolean;
  efi_firmware_code: string;
  efi_firmware_vars: string;
  efi_drop_efivars: boolean;
  vtpm: boolean;
  use_tpm1: boolean;
  vnc_bind_address?: string;
  vnc_port_min: number;
  vnc_port_max: number;
  qemuargs_append: string[][];
  cd_files: string[];
  cd_content?: Record<string, string>;
  cd_label?: string;
  floppy_files: string[];
  floppy_content?: Record<string, string>;
  floppy_label: string;
  boot_screenshots: boolean;
  accelerator: Accelerator;
  machine_type: string;
  qemu_binary: string;
  qemuargs: string[][];
  headless: boolean;
  net_device: string;
  boot_wait: number;
  boot_command: string[];
  boot_key_interval: number;
  boot_command_retries: number;
  http_request_timeout: number;
  /** Accepted from Packer templates; tsimg does not type over VNC. */
  disable_vnc: boolean;
  http_directory?: string;
  http_content?: Record<string, string>;
  http_bind_address: string;
  http_port_min: number;
  http_port_max: number;
  host_port_min: number;
  host_port_max: number;
  communicator: "ssh" | "none";
  ssh_username?: string;
  ssh_password?: string;
  ssh_private_key_file?: string;
  ssh_port: number;
  ssh_clear_authorized_keys: boolean;
  pause_before_connecting: number;
  ssh_keep_alive_interval: number;
  ssh_read_write_timeout: number;
  ssh_timeout: number;
  ssh_handshake_attempts: number;
  shutdown_command: string;
  shutdown_timeout: number;
  skip_compaction: boolean;
  disk_compression: boolean;
}

/** What every provisioner takes (durations in ms). */
export interface ProvisionerCommon {
  pause_before: number;
  max_retries: number;
  timeout: number;
  only?: string[];
  except?: string[];
}

export interface ShellProvisionerConfig extends ProvisionerCommon {
  type: "shell";
  inline?: string[];
  inline_shebang: string;
  script?: string;
  scripts?: string[];
  environment_vars: string[];
  execute_command: string;
  remote_folder: string;
  valid_exit_codes: number[];
  expect_disconnect: boolean;
}

export interface FileProvisionerConfig extends ProvisionerCommon {
  type: "file";
  /** Upload: absolute local path (a trailing "/" kept). Download: the remote path as written. */
  source?: string;
  sources?: string[];
  content?: string;
  destination: string;
  direction: "upload" | "download";
  generated: boolean;
}

export interface ShellLocalProvisionerConfig extends ProvisionerCommon, LocalScriptsConfig {
  type: "shell-local";
}

export type ProvisionerConfig = ShellProvisionerConfig | FileProvisionerConfig | ShellLocalProvisionerConfig;

/** A loaded template: everything a build needs, with secrets listed for masking. */
export interface BuildPlan {
  /** Absolute path of the template file. */
  templatePath: string;
  templateDir: string;
  image: ImageMeta;
  source: SourceConfig;
  provisioners: ProvisionerConfig[];
  /**
   * Post-processor chains, in template order: each `[[post_processor]]` is a chain of one,
   * except that entries sharing a `chain = "name"` form one chain, in the order written.
   */
  postProcessors: PostProcessorConfig[][];
  /** Resolved variable values. */
  variables: Record<string, { value: string; sensitive: boolean }>;
  /** Values to mask in every output (sensitive variables, ssh_password, post-processor passwords, tokens and secrets). */
  secrets: string[];
  /** Inputs that do not exist yet (the ISO): `validate` warns, `build` refuses to start. */
  missingInputs: import("../errors.js").ConfigError[];
}
