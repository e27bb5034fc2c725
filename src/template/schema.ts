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
  | "size[]"
  | "string[][]"
  | "table"
  /** A table whose values are lists of strings (qemu_img_args). */
  | "table of string[]"
  | { enum: readonly string[] };

export interface OptionSpec {
  type: OptionType;
  /** Default as a user would write it in TOML; absent when there is none or it is computed. */
  default?: string | number | boolean | readonly (string | number)[];
  /** Words for a computed default. */
  defaultDoc?: string;
  required?: boolean;
  /** Smallest value allowed: integers as written, sizes in MiB (every size must be at least 1 MiB). */
  min?: number;
  /** Largest value allowed, as `min`. */
  max?: number;
  doc: string;
  /** Packer's name for it, and what differs. */
  packer: string;
  /** A duration that may be negative, meaning 0 (Packer's `boot_wait = "-1s"`). */
  negativeIsZero?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;

/** TCP ports: every port option is checked against this range. */
const PORT = { min: 1, max: 65_535 } as const;
/** VNC ports: QEMU takes a display number, the port minus 5900. */
const VNC_PORT = { min: 5900, max: 65_535 } as const;
/** 64 TiB in MiB: far above any real disk; a larger disk_size is a typo of a unit. */
export const MAX_DISK_MIB = 64 * 1024 * 1024;

export const ACCELERATORS = ["auto", "kvm", "tcg", "xen", "hax", "hvf", "whpx", "none"] as const;

/** `[source]`: the qemu builder. */
export const SOURCE_OPTIONS = {
  iso_url: {
    type: "string",
    doc: "The installer ISO (with `disk_image`, the base disk): a path relative to the template, `file://...`, or `http(s)://...`. A URL is downloaded once into the cache (`$TSIMG_CACHE_DIR`, default `~/.cache/tsimg`), keyed by `iso_checksum`, tried up to 4 times (a pause of 0.5 s, then 1 s, 2 s while a try gets no bytes; a 4xx answer is not retried) and resumed with HTTP ranges when interrupted, verified, and only then used. A later build finds it there without any request and without hashing it again unless its size or mtime changed. Required unless `iso_urls` is given.",
    packer: "`iso_url` (Packer's cache is `./packer_cache`, and it re-hashes the ISO on every build)",
  },
  iso_urls: {
    type: "string[]",
    doc: "Several places for the ISO, tried in order: the first local file that exists or URL that downloads is used. Cannot be combined with `iso_url`.",
    packer: "`iso_urls`",
  },
  iso_checksum: {
    type: "string",
    required: true,
    doc: "Checksum of the ISO: `sha256:<hex>`, `sha512:<hex>`, `sha1:<hex>`, `md5:<hex>`, bare hex (type from its length), `file:<path or URL>` (a SHA256SUMS-style file, matched by the ISO's file name; a URL is fetched on every build), or `none` (warns). Checked before anything else starts; a mismatch shows both sums, and deletes nothing but a download in tsimg's cache.",
    packer: "`iso_checksum` (same forms)",
  },
  output_directory: {
    type: "string",
    defaultDoc: "`output-<image name>`",
    doc: "Where the artifact is written, relative to the current directory. Must not exist unless `--force`, and `--force` replaces only a directory an earlier tsimg build made (it holds a `.tsimg-output` marker) or an empty one. Refused, by `validate` too: `/`, the current directory, the template's directory, an ancestor of either, your home directory or an ancestor of it, and any directory holding a `.git` (an empty value, or an unset variable, would otherwise mean the current directory). It appears complete or not at all; a failed build removes only what it created.",
    packer: "`output_directory` (default `output-<build name>`; Packer's `-force` deletes whatever directory is there)",
  },
  vm_name: {
    type: "string",
    defaultDoc: "`<image name>.<format>`",
    doc: "File name of the disk image in `output_directory`, also QEMU's `-name`. A plain file name: no `/`, not `..`, not empty, and not `serial.log`, `efivars.fd` or `.tsimg-output`, which tsimg writes there itself.",
    packer: "`vm_name` (Packer's default `packer-<build name>` has no extension)",
  },
  format: { type: { enum: ["qcow2", "raw"] }, default: "qcow2", doc: "Disk image format.", packer: "`format`" },
  disk_image: {
    type: "boolean",
    default: false,
    doc: "`iso_url` is a bootable disk image (a cloud image), not an installer: it is copied (`qemu-img convert`) into the build disk, resized to `disk_size` and booted; no cdrom is attached. Pair it with a NoCloud seed (`cd_content`, `cd_label = \"cidata\"`).",
    packer: "`disk_image`",
  },
  use_backing_file: {
    type: "boolean",
    default: false,
    doc: "With `disk_image`: the output is a thin qcow2 overlay whose backing file is the base image (by absolute path), instead of a full copy. The overlay is not compacted (that would flatten it); the manifest's `custom_data.backing_file` names the base. Needs `format = \"qcow2\"`.",
    packer: "`use_backing_file`",
  },
  skip_resize_disk: {
    type: "boolean",
    default: false,
    doc: "With `disk_image`: keep the base image's size instead of growing it to `disk_size`.",
    packer: "`skip_resize_disk`",
  },
  disk_additional_size: {
    type: "size[]",
    max: MAX_DISK_MIB,
    default: [],
    doc: "Sizes of extra empty disks (`[\"10G\", \"512M\"]`), attached after the main disk on the same interface. They are written beside the main one as `<name>-1.<format>`, `<name>-2.<format>`, ... (`<vm_name>-1` when vm_name has no extension) and compacted like it.",
    packer: "`disk_additional_size` (Packer names them `<vm_name>-1`)",
  },
  qemu_img_args: {
    type: "table of string[]",
    doc: "Extra arguments for qemu-img, by command: `{ create = [\"-o\", \"preallocation=metadata\"], convert = [...], resize = [...] }`. They go right after the subcommand's own options.",
    packer: "`qemu_img_args`",
  },
  disk_size: { type: "size", max: MAX_DISK_MIB, default: "40960M", doc: "Virtual disk size: a number of MiB, or with a unit (`512M`, `40G`). From 1 MiB to 64 TiB (`64T`): anything larger is a unit typed wrong.", packer: "`disk_size`" },
  disk_interface: {
    type: { enum: ["virtio", "virtio-scsi", "scsi", "ide", "sata"] },
    default: "virtio",
    doc: "Bus the disks are attached to: `virtio` (virtio-blk), `virtio-scsi` and `scsi` (a virtio-scsi controller with scsi-hd disks), `ide`, or `sata` (an AHCI controller with ide-hd disks).",
    packer: "`disk_interface` (same choices)",
  },
  disk_cache: { type: "string", default: "writeback", doc: "`cache=` of the disk's `-drive`.", packer: "`disk_cache`" },
  disk_discard: { type: { enum: ["ignore", "unmap"] }, default: "ignore", doc: "`discard=` of the disk's `-drive`: `unmap` passes the guest's TRIM through, so deleted blocks leave the image.", packer: "`disk_discard`" },
  disk_detect_zeroes: {
    type: { enum: ["off", "on", "unmap"] },
    default: "off",
    doc: "`detect-zeroes=` of the disk's `-drive`: `unmap` (needs `disk_discard = \"unmap\"`) turns zeroed blocks into holes as the guest writes them.",
    packer: "`disk_detect_zeroes`",
  },
  memory: { type: "size", default: 512, doc: "Guest memory in MiB (or with a unit), at least 1 MiB. Ignored when `qemuargs` has `-m`.", packer: "`memory`" },
  cpus: { type: "integer", min: 1, default: 1, doc: "Virtual CPUs (`-smp`), at least 1. Ignored when `qemuargs` has `-smp`.", packer: "`cpus`" },
  sockets: { type: "integer", min: 0, default: 0, doc: "CPU sockets in `-smp` (0: QEMU works it out from `cpus`).", packer: "`sockets`" },
  cores: { type: "integer", min: 0, default: 0, doc: "Cores per socket in `-smp` (0: QEMU works it out).", packer: "`cores`" },
  threads: { type: "integer", min: 0, default: 0, doc: "Threads per core in `-smp` (0: QEMU works it out).", packer: "`threads`" },
  cpu_model: {
    type: "string",
    defaultDoc: "`host` under KVM, QEMU's default otherwise",
    doc: "`-cpu` model. Under TCG, `host` does not exist, so tsimg leaves QEMU's default unless you name one.",
    packer: "`cpu_model` (same default)",
  },
  vga: { type: "string", doc: "Display adapter (`-vga std|virtio|qxl|cirrus|none`). Default: QEMU's (`std`).", packer: "`vga`" },
  display: {
    type: "string",
    doc: "QEMU's `-display` when there is a window (`headless = false`): `gtk`, `sdl`, `vnc=...`, `none`. Default: QEMU's choice.",
    packer: "`display`",
  },
  use_default_display: { type: "boolean", default: false, doc: "Pass no `-display` at all, even when headless, and let QEMU pick.", packer: "`use_default_display`" },
  efi_boot: {
    type: "boolean",
    default: false,
    doc: "Boot with UEFI firmware (OVMF) instead of BIOS. The variable store is copied into the output directory as `efivars.fd`, beside the disk, so the image boots later with the same NVRAM.",
    packer: "`efi_boot`",
  },
  efi_firmware_code: { type: "path", default: "/usr/share/OVMF/OVMF_CODE_4M.fd", doc: "The OVMF code image (read-only pflash). Debian's `ovmf` package provides the default.", packer: "`efi_firmware_code`" },
  efi_firmware_vars: { type: "path", default: "/usr/share/OVMF/OVMF_VARS_4M.fd", doc: "The OVMF variable store template; copied, never written.", packer: "`efi_firmware_vars`" },
  efi_drop_efivars: { type: "boolean", default: false, doc: "Do not keep `efivars.fd` in the output directory.", packer: "`efi_drop_efivars`" },
  vtpm: {
    type: "boolean",
    default: false,
    doc: "Give the VM a TPM 2.0 (`tpm-tis`), emulated by swtpm (Debian's `swtpm` package), started and stopped with the build; its state lives only as long as the build.",
    packer: "`vtpm`",
  },
  use_tpm1: { type: "boolean", default: false, doc: "With `vtpm`: a TPM 1.2 instead of 2.0.", packer: "`use_tpm1`" },
  vnc_bind_address: {
    type: "string",
    doc: "Start a VNC server on this address, for people who want to watch (tsimg types through QMP and needs no VNC). Unset: no VNC server. The port is the first free one in `vnc_port_min`..`vnc_port_max` and is logged.",
    packer: "`vnc_bind_address` (Packer always starts VNC, on 127.0.0.1)",
  },
  vnc_port_min: { type: "integer", ...VNC_PORT, default: 5900, doc: "Lowest VNC port (TCP, 5900 to 65535: QEMU is given the display number, the port minus 5900).", packer: "`vnc_port_min`" },
  vnc_port_max: { type: "integer", ...VNC_PORT, default: 6000, doc: "Highest VNC port (TCP, 5900 to 65535).", packer: "`vnc_port_max`" },
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
  qemuargs_append: {
    type: "string[][]",
    default: [],
    doc: "Extra switches added after tsimg's own, replacing nothing: `[[\"-device\", \"virtio-rng-pci\"]]`. Same placeholders as `qemuargs`.",
    packer: "none (what packer-plugin-qemu#58 and #221 ask for)",
  },
  cd_files: {
    type: "string[]",
    default: [],
    doc: "Files for a CD attached to the VM, relative to the template; globs allowed (`seed/*`). A file goes to the CD's root; a directory is copied with its name, or its contents when written with a trailing `/`. Built with xorriso (Rock Ridge and Joliet).",
    packer: "`cd_files`",
  },
  cd_content: {
    type: "table",
    doc: "CD path -> file content, added to the same CD: `{ \"meta-data\" = \"\", \"user-data\" = \"\"\"#cloud-config ...\"\"\" }`. `{{ .SSHPublicKey }}`, `{{ .HTTPIP }}` and `{{ .HTTPPort }}` are filled in.",
    packer: "`cd_content`",
  },
  floppy_files: {
    type: "string[]",
    default: [],
    doc: "Files for a 1.44 MB floppy attached as drive A (`-fda`), same rules as `cd_files`. Made with `mkfs.fat` and `mcopy` (Debian's dosfstools and mtools). For installers that read a kickstart or answer file from a floppy.",
    packer: "`floppy_files`",
  },
  floppy_content: { type: "table", doc: "Floppy path -> content, added to the same floppy; placeholders as in `cd_content`.", packer: "`floppy_content`" },
  floppy_label: { type: "string", default: "floppy", doc: "Volume label of the floppy (upper-cased, at most 11 characters).", packer: "`floppy_label`" },
  cd_label: { type: "string", doc: "Volume label of the CD: `cidata` for a cloud-init NoCloud seed. Default: xorriso's.", packer: "`cd_label`" },
  boot_screenshots: {
    type: "boolean",
    default: false,
    doc: "Save a PNG of the console after each `boot_command` entry is typed, as `<output_directory>/boot-<n>.png` (a `screenshot` event names each).",
    packer: "none",
  },
  headless: {
    type: "boolean",
    default: false,
    doc: "Run without a window. When false and there is no `$DISPLAY`, tsimg runs headless anyway and says so.",
    packer: "`headless` (Packer fails without a display)",
  },
  net_device: { type: "string", default: "virtio-net", doc: "NIC model (`-device <net_device>,netdev=user.0`).", packer: "`net_device`" },
  boot_wait: {
    type: "duration",
    default: "10s",
    negativeIsZero: true,
    doc: "Time between QEMU starting and typing `boot_command`. A negative duration such as `-1s` means no wait, as in Packer.",
    packer: "`boot_wait` (`-1s` is Packer's documented \"no wait\")",
  },
  boot_command: {
    type: "string[]",
    default: [],
    doc: "Keys typed into the boot menu, in Packer's syntax (`<tab>`, `<enter>`, `<wait5>`, `<leftCtrlOn>`, `<leftCommand>` (Alt), ...). Entries are joined. A newline in an entry (`\\n` in a TOML basic string) types Enter, and a tab character (`\\t`) types Tab, as in Packer; a CRLF line ending is one Enter. Each key event goes to QEMU's keyboard in order (QMP `input-send-event`), paced by `boot_key_interval` and, with QEMU's PS/2 keyboard, by the guest's reads: a key is sent only once the guest has read the one before it, so a guest that a busy host starves does not lose keys.",
    packer: "`boot_command` (typed over VNC at 100 ms per key event)",
  },
  boot_command_retries: {
    type: "integer",
    min: 0,
    default: 1,
    doc: "When `http_request_timeout` expires: how many times to reset the VM, wait `boot_wait` and type `boot_command` again before the build fails.",
    packer: "none",
  },
  http_request_timeout: {
    type: "duration",
    default: "3m",
    doc: "When `boot_command` names the HTTP server (`{{ .HTTPIP }}`/`{{ .HTTPPort }}`): how long after typing it the guest has to request anything (a kickstart) from it. On expiry tsimg saves a screenshot as `<output_directory>/boot-timeout-<n>.png`, then retypes (`boot_command_retries`) or fails saying which URL the guest never fetched, instead of waiting out `ssh_timeout`. `0s` turns the check off.",
    packer: "none (Packer waits out `ssh_timeout`)",
  },
  disable_vnc: {
    type: "boolean",
    default: false,
    doc: "Accepted for Packer templates and ignored: tsimg types through QMP and starts VNC only when asked (`vnc_bind_address`...).",
    packer: "`disable_vnc` (Packer refuses a `boot_command` with it, since it types over VNC)",
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
  http_port_min: { type: "integer", ...PORT, default: 8000, doc: "Lowest port for the HTTP server (1 to 65535, and not above `http_port_max`).", packer: "`http_port_min`" },
  http_port_max: { type: "integer", ...PORT, default: 9000, doc: "Highest port for the HTTP server (1 to 65535).", packer: "`http_port_max`" },
  host_port_min: { type: "integer", ...PORT, default: 2222, doc: "Lowest host port forwarded to the guest's SSH port (bound on 127.0.0.1); 1 to 65535, and not above `host_port_max`.", packer: "`host_port_min` (Packer binds every interface)" },
  host_port_max: { type: "integer", ...PORT, default: 4444, doc: "Highest host port forwarded to the guest's SSH port (1 to 65535).", packer: "`host_port_max`" },
  communicator: {
    type: { enum: ["ssh", "none"] },
    default: "ssh",
    doc: "`none` skips SSH and provisioners and waits, up to `shutdown_timeout`, for the guest to power off by itself.",
    packer: "`communicator`",
  },
  ssh_username: { type: "string", doc: "User to log in as. Required with `communicator = \"ssh\"`.", packer: "`ssh_username`" },
  ssh_password: {
    type: "string",
    doc: "Password; masked as `<sensitive>` everywhere tsimg writes. With neither a password nor `ssh_private_key_file`, tsimg makes a temporary ed25519 key pair for the build and offers the public key as `{{ .SSHPublicKey }}` (boot_command, http_content, cd_content).",
    packer: "`ssh_password` (Packer also makes a temporary key then)",
  },
  ssh_private_key_file: { type: "path", doc: "Private key file, relative to the template.", packer: "`ssh_private_key_file`" },
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
  ssh_keep_alive_interval: { type: "duration", default: "5s", doc: "Send an SSH keepalive this often; `0s` turns them off.", packer: "`ssh_keep_alive_interval`" },
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

/** Options every `[[provisioner]]` takes, whatever its type. */
export const PROVISIONER_COMMON_OPTIONS = {
  pause_before: { type: "duration", default: "0s", doc: "Wait this long before running the provisioner.", packer: "`pause_before`" },
  max_retries: {
    type: "integer",
    min: 0,
    default: 0,
    doc: "Run the provisioner again, up to this many more times, when it fails (not when the build is cancelled). Each retry is logged with the failure.",
    packer: "`max_retries`",
  },
  timeout: {
    type: "duration",
    default: "0s",
    doc: "Fail the provisioner (or that attempt of it) when it runs longer than this; 0: no limit.",
    packer: "`timeout`",
  },
  only: {
    type: "string[]",
    doc: "Run only in these builds: the image's name (or Packer's `qemu.<name>`). Absent: every build.",
    packer: "`only`",
  },
  except: { type: "string[]", doc: "Skip in these builds (same names as `only`).", packer: "`except`" },
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
  ...PROVISIONER_COMMON_OPTIONS,
} satisfies OptionTable;

/** `[[provisioner]]` with `type = "file"`. */
export const FILE_OPTIONS = {
  type: { type: "string", required: true, doc: "`file`.", packer: "`provisioner \"file\"`" },
  source: {
    type: "string",
    doc: "Upload: a local file or directory, relative to the template; a directory with a trailing `/` uploads its contents, without it the directory itself. Download: the remote path. Exactly one of `source`, `sources`, `content`.",
    packer: "`source`",
  },
  sources: { type: "path[]", doc: "Several local files or directories uploaded into `destination` (which should end with `/`).", packer: "`sources`" },
  content: { type: "string", doc: "Text written to `destination` on the guest, instead of a local file.", packer: "`content`" },
  destination: {
    type: "string",
    required: true,
    doc: "Where it goes. Upload: the remote path (ending with `/`: into that directory, made if missing). Download: the local path, relative to the template.",
    packer: "`destination` (a download's local path is relative to the template, not the current directory)",
  },
  direction: { type: { enum: ["upload", "download"] }, default: "upload", doc: "`download` copies `source` from the guest (a file or a whole directory) to `destination` on the host.", packer: "`direction`" },
  generated: { type: "boolean", default: false, doc: "The local source is made during the build (e.g. by a shell-local step): do not check that it exists when the template is loaded.", packer: "`generated`" },
  ...PROVISIONER_COMMON_OPTIONS,
} satisfies OptionTable;

/** What both shell-locals (provisioner and post-processor) take to run scripts on the build host. */
export const LOCAL_SCRIPT_OPTIONS = {
  inline: { type: "string[]", doc: "Commands run on the build host as one script (`inline_shebang`). Exactly one of `inline`, `script`, `scripts`.", packer: "`inline`" },
  inline_shebang: { type: "string", default: "/bin/sh -e", doc: "Interpreter of the script made from `inline`.", packer: "`inline_shebang`" },
  script: { type: "path", doc: "A local script, relative to the template, run with `/bin/sh` unless it is executable.", packer: "`script`" },
  scripts: { type: "path[]", doc: "Several scripts, run in order.", packer: "`scripts`" },
  valid_exit_codes: { type: "integer[]", default: [0], doc: "Exit codes that count as success.", packer: "`valid_exit_codes`" },
} satisfies OptionTable;

/** `[[provisioner]]` with `type = "shell-local"`: runs on the build host, not in the guest. */
export const SHELL_LOCAL_PROVISIONER_OPTIONS = {
  type: { type: "string", required: true, doc: "`shell-local`.", packer: '`provisioner "shell-local"`' },
  ...LOCAL_SCRIPT_OPTIONS,
  environment_vars: {
    type: "string[]",
    default: [],
    doc: "`KEY=value` pairs added to the environment, which also has `PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE=qemu`, `PACKER_HTTP_ADDR`, `TSIMG_BUILD_NAME` and `TSIMG_SSH_HOST_PORT` (the guest's SSH, forwarded to 127.0.0.1). The scripts run in the template's directory.",
    packer: "`environment_vars` (Packer runs them in the current directory)",
  },
  ...PROVISIONER_COMMON_OPTIONS,
} satisfies OptionTable;

/** `[variables.NAME]`. */
export const VARIABLE_OPTIONS = {
  type: { type: { enum: ["string", "number", "bool"] }, default: "string", doc: "The value's type.", packer: "`variable { type }`" },
  default: { type: "string", doc: "Value when nothing else sets it. Without one, the variable is required.", packer: "`default`" },
  description: { type: "string", doc: "Free text for readers of the template.", packer: "`description`" },
  sensitive: { type: "boolean", default: false, doc: "Mask the value as `<sensitive>` in every output.", packer: "`sensitive`" },
} satisfies OptionTable;

export type SourceOptionName = keyof typeof SOURCE_OPTIONS;
