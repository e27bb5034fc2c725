// Every template option in one table: its type, default, meaning and Packer equivalent.
// Validation reads it, and docs/reference.md is generated from it (npm run docs), so the
// reference cannot drift from what the code accepts.

export type OptionType =
  | "string"
  | "path"
  | "integer"
  | "boolean"
  | "size"
  | "duration"
  | "string[]"
  | "path[]"
  | "integer[]"
  | "string[][]"
  | "table"
  | { enum: readonly string[] };

export interface OptionSpec {
  type: OptionType;
  /** Default as a user would write it in TOML; absent when there is none or it is computed. */
  default?: string | number | boolean | readonly (string | number)[];
  /** Words for a computed default. */
  defaultDoc?: string;
  required?: boolean;
  doc: string;
  /** Packer's name for it, and what differs. */
  packer: string;
}

export type OptionTable = Record<string, OptionSpec>;

export const ACCELERATORS = ["auto", "kvm", "tcg", "xen", "hax", "hvf", "whpx", "none"] as const;

/** `[source]`: the qemu builder. */
export const SOURCE_OPTIONS = {
  iso_url: {
    type: "string",
    doc: "The installer ISO: a path relative to the template, or `file://`. Required unless `iso_urls` is given. (Downloading over HTTP(S) is not supported yet.)",
    packer: "`iso_url`",
  },
  iso_urls: {
    type: "string[]",
    doc: "Several places for the ISO, tried in order: the first that exists is used. Cannot be combined with `iso_url`.",
    packer: "`iso_urls`",
  },
  iso_checksum: {
    type: "string",
    required: true,
    doc: "Checksum of the ISO: `sha256:<hex>`, `sha512:<hex>`, `sha1:<hex>`, `md5:<hex>`, bare hex (type from its length), `file:<path>` (a SHA256SUMS-style file, matched by the ISO's file name), or `none` (warns). Checked before anything else starts.",
    packer: "`iso_checksum` (same forms)",
  },
  output_directory: {
    type: "string",
    defaultDoc: "`output-<image name>`",
    doc: "Where the artifact is written, relative to the current directory. Must not exist unless `--force`. It appears complete or not at all.",
    packer: "`output_directory` (default `output-<build name>`)",
  },
  vm_name: {
    type: "string",
    defaultDoc: "`<image name>.<format>`",
    doc: "File name of the disk image in `output_directory`, also QEMU's `-name`.",
    packer: "`vm_name` (Packer's default `packer-<build name>` has no extension)",
  },
  format: { type: { enum: ["qcow2", "raw"] }, default: "qcow2", doc: "Disk image format.", packer: "`format`" },
  disk_size: { type: "size", default: "40960M", doc: "Virtual disk size: a number of MiB, or with a unit (`512M`, `40G`).", packer: "`disk_size`" },
  disk_interface: {
    type: { enum: ["virtio", "ide", "scsi"] },
    default: "virtio",
    doc: "Bus the disk is attached to (`if=` of `-drive`).",
    packer: "`disk_interface` (more choices arrive with issue 4)",
  },
  disk_cache: { type: "string", default: "writeback", doc: "`cache=` of the disk's `-drive`.", packer: "`disk_cache`" },
  disk_discard: { type: "string", default: "ignore", doc: "`discard=` of the disk's `-drive`.", packer: "`disk_discard`" },
  memory: { type: "size", default: 512, doc: "Guest memory in MiB (or with a unit). Ignored when `qemuargs` has `-m`.", packer: "`memory`" },
  cpus: { type: "integer", default: 1, doc: "Virtual CPUs (`-smp`). Ignored when `qemuargs` has `-smp`.", packer: "`cpus`" },
  accelerator: {
    type: { enum: ACCELERATORS },
    default: "auto",
    doc: "`auto` boots a tiny test guest under KVM (under 2 s) and uses KVM when it really runs, otherwise TCG with a warning. An explicit `kvm` that cannot run a guest fails at once instead of hanging.",
    packer: "`accelerator` (Packer's default `kvm` hangs or aborts where /dev/kvm is present but broken)",
  },
  machine_type: { type: "string", default: "pc", doc: "QEMU machine type (`-machine type=`).", packer: "`machine_type`" },
  qemu_binary: { type: "string", default: "qemu-system-x86_64", doc: "The QEMU program to run.", packer: "`qemu_binary`" },
  qemuargs: {
    type: "string[][]",
    default: [],
    doc: "Extra switches, e.g. `[[\"-m\", \"4096\"], [\"-serial\", \"file:serial.out\"]]`. A switch given here replaces tsimg's default for that switch, as in Packer, and tsimg logs one line per replaced default. `{{ .HTTPIP }}`, `{{ .HTTPPort }}`, `{{ .Name }}`, `{{ .SSHHostPort }}`, `{{ .OutputDir }}` are filled in.",
    packer: "`qemuargs` (same meaning; Packer does not tell you what it replaced)",
  },
  headless: {
    type: "boolean",
    default: false,
    doc: "Run without a window. When false and there is no `$DISPLAY`, tsimg runs headless anyway and says so.",
    packer: "`headless` (Packer fails without a display)",
  },
  net_device: { type: "string", default: "virtio-net", doc: "NIC model (`-device <net_device>,netdev=user.0`).", packer: "`net_device`" },
  boot_wait: { type: "duration", default: "10s", doc: "Time between QEMU starting and typing `boot_command`.", packer: "`boot_wait`" },
  boot_command: {
    type: "string[]",
    default: [],
    doc: "Keys typed into the boot menu, in Packer's syntax (`<tab>`, `<enter>`, `<wait5>`, `<leftCtrlOn>`, ...). Entries are joined. Typed through QMP, not VNC.",
    packer: "`boot_command`",
  },
  boot_key_interval: {
    type: "duration",
    default: "7ms",
    doc: "Time QEMU leaves after each key event (press or release), so a character takes two intervals and a shifted one four. QEMU queues the events in order, so each key arrives exactly once and in order; the interval only gives the guest time to read them. 7 ms types the Rocky 9 boot command in 1.4 s and held up with the host's CPUs saturated; 5 ms lost keys under that load. Raise it for very slow guests.",
    packer: "`boot_key_interval` (Packer's default is 100 ms: about 0.2 s per character, 0.4 s per shifted one)",
  },
  http_directory: { type: "path", doc: "Directory served over HTTP to the guest, relative to the template.", packer: "`http_directory`" },
  http_content: {
    type: "table",
    doc: "URL path -> content served over HTTP, e.g. `\"/ks/x.ks\" = \"${file(\\\"../kickstart/x.ks\\\")}\"`. Cannot be combined with `http_directory`.",
    packer: "`http_content`",
  },
  http_bind_address: {
    type: "string",
    default: "127.0.0.1",
    doc: "Address the HTTP server binds. The guest reaches the host's loopback as 10.0.2.2, so the kickstart never leaves the machine.",
    packer: "`http_bind_address` (Packer's default 0.0.0.0 serves the kickstart, and its passwords, to the whole LAN)",
  },
  http_port_min: { type: "integer", default: 8000, doc: "Lowest port for the HTTP server.", packer: "`http_port_min`" },
  http_port_max: { type: "integer", default: 9000, doc: "Highest port for the HTTP server.", packer: "`http_port_max`" },
  host_port_min: { type: "integer", default: 2222, doc: "Lowest host port forwarded to the guest's SSH port (bound on 127.0.0.1).", packer: "`host_port_min` (Packer binds every interface)" },
  host_port_max: { type: "integer", default: 4444, doc: "Highest host port forwarded to the guest's SSH port.", packer: "`host_port_max`" },
  communicator: {
    type: { enum: ["ssh", "none"] },
    default: "ssh",
    doc: "`none` skips SSH and provisioners and waits, up to `shutdown_timeout`, for the guest to power off by itself.",
    packer: "`communicator`",
  },
  ssh_username: { type: "string", doc: "User to log in as. Required with `communicator = \"ssh\"`.", packer: "`ssh_username`" },
  ssh_password: { type: "string", doc: "Password; masked as `<sensitive>` everywhere tsimg writes.", packer: "`ssh_password`" },
  ssh_private_key_file: { type: "path", doc: "Private key file, relative to the template.", packer: "`ssh_private_key_file`" },
  ssh_port: { type: "integer", default: 22, doc: "The guest's SSH port.", packer: "`ssh_port`" },
  ssh_timeout: {
    type: "duration",
    default: "5m",
    doc: "How long to wait for SSH to come up (install plus reboot). On expiry the error shows the serial console's last lines. sshd is noticed within about 0.2 s of listening.",
    packer: "`ssh_timeout` (Packer polls every 5-7 s)",
  },
  ssh_handshake_attempts: {
    type: "integer",
    default: 10,
    doc: "Failed logins (after sshd answered) before the build fails, e.g. on a wrong password.",
    packer: "`ssh_handshake_attempts`",
  },
  shutdown_command: {
    type: "string",
    default: "",
    doc: "Command that powers the guest off, e.g. `/sbin/halt -h -p`. When empty, tsimg sends an ACPI power-button press and waits.",
    packer: "`shutdown_command` (when empty, Packer kills QEMU at once, with unsynced writes)",
  },
  shutdown_timeout: {
    type: "duration",
    default: "5m",
    doc: "How long to wait for QEMU to exit after `shutdown_command`. Then tsimg presses the ACPI power button, and then kills QEMU and fails the build.",
    packer: "`shutdown_timeout`",
  },
  skip_compaction: { type: "boolean", default: false, doc: "Keep the disk as written instead of `qemu-img convert`ing it (qcow2 only).", packer: "`skip_compaction`" },
  disk_compression: { type: "boolean", default: false, doc: "Compress the qcow2 during compaction (`qemu-img convert -c`).", packer: "`disk_compression`" },
} satisfies OptionTable;

/** `[[provisioner]]` with `type = "shell"`. */
export const SHELL_OPTIONS = {
  type: { type: "string", required: true, doc: "`shell`.", packer: "`provisioner \"shell\"`" },
  inline: { type: "string[]", doc: "Commands run in one script (`inline_shebang` first). Exactly one of `inline`, `script`, `scripts`.", packer: "`inline`" },
  inline_shebang: { type: "string", default: "/bin/sh -e", doc: "Shebang of the script made from `inline`.", packer: "`inline_shebang`" },
  script: { type: "path", doc: "A local script, relative to the template, uploaded and run.", packer: "`script`" },
  scripts: { type: "path[]", doc: "Several scripts, run in order.", packer: "`scripts`" },
  environment_vars: { type: "string[]", default: [], doc: "`KEY=value` pairs set for the script. `{{ .HTTPIP }}` and friends are filled in.", packer: "`environment_vars`" },
  execute_command: {
    type: "string",
    default: "chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}",
    doc: "How the uploaded script is run; `{{ .Path }}` is its remote path, `{{ .Vars }}` the environment assignments.",
    packer: "`execute_command`",
  },
  remote_folder: { type: "string", default: "/tmp", doc: "Where scripts are uploaded.", packer: "`remote_folder`" },
  valid_exit_codes: { type: "integer[]", default: [0], doc: "Exit codes that count as success.", packer: "`valid_exit_codes`" },
  expect_disconnect: {
    type: "boolean",
    default: false,
    doc: "The script may take the connection down (a reboot, an sshd restart): that is not a failure. After such a script tsimg ends the SSH session, waits up to 15 s for QEMU to report the guest's reboot, then waits for SSH again, so the next provisioner runs on the new boot, never on the dying one.",
    packer: "`expect_disconnect`",
  },
} satisfies OptionTable;

/** `[[provisioner]]` with `type = "file"`. */
export const FILE_OPTIONS = {
  type: { type: "string", required: true, doc: "`file`.", packer: "`provisioner \"file\"`" },
  source: {
    type: "path",
    required: true,
    doc: "A local file or directory, relative to the template. A directory with a trailing `/` uploads its contents; without it, the directory itself.",
    packer: "`source`",
  },
  destination: { type: "string", required: true, doc: "Remote path.", packer: "`destination`" },
} satisfies OptionTable;

/** `[variables.NAME]`. */
export const VARIABLE_OPTIONS = {
  type: { type: { enum: ["string", "number", "bool"] }, default: "string", doc: "The value's type.", packer: "`variable { type }`" },
  default: { type: "string", doc: "Value when nothing else sets it. Without one, the variable is required.", packer: "`default`" },
  description: { type: "string", doc: "Free text for readers of the template.", packer: "`description`" },
  sensitive: { type: "boolean", default: false, doc: "Mask the value as `<sensitive>` in every output.", packer: "`sensitive`" },
} satisfies OptionTable;

export type SourceOptionName = keyof typeof SOURCE_OPTIONS;
