// `[source]` options of the qemu builder itself (output, disks, machine, boot, shutdown) and
// the config type derived from them. Their checks are in check-options.ts.
import { MAX_DISK_MIB, PORT, type ConfigOf, type OptionTable } from "../core/options.js";

/** VNC ports: QEMU takes a display number, the port minus 5900. */
const VNC_PORT = { min: 5900, max: 65_535 } as const;

export const ACCELERATORS = ["auto", "kvm", "tcg", "xen", "hax", "hvf", "whpx", "none"] as const;

/** `[source]`: the output, disks and the machine QEMU emulates. */
export const QEMU_MACHINE_OPTIONS = {
  output_directory: {
    type: "string",
    computed: true,
    defaultDoc: "`output-<image name>`",
    doc: "Where the artifact is written, relative to the current directory. Must not exist unless `--force`, and `--force` replaces only a directory an earlier tsimg build made (it holds a `.tsimg-output` marker) or an empty one. Refused, by `validate` too: `/`, the current directory, the template's directory, an ancestor of either, your home directory or an ancestor of it, and any directory holding a `.git` (an empty value, or an unset variable, would otherwise mean the current directory). It appears complete or not at all; a failed build removes only what it created.",
    packer: "`output_directory` (default `output-<build name>`; Packer's `-force` deletes whatever directory is there)",
  },
  vm_name: {
    type: "string",
    computed: true,
    defaultDoc: "`<image name>.<format>`",
    doc: "File name of the disk image in `output_directory`, also QEMU's `-name`. A plain file name: no `/`, not `..`, not empty, and not `serial.log`, `efivars.fd` or `.tsimg-output`, which tsimg writes there itself.",
    packer: "`vm_name` (Packer's default `packer-<build name>` has no extension)",
  },
  format: { type: { enum: ["qcow2", "raw"] }, default: "qcow2", doc: "Disk image format.", packer: "`format`" },
  disk_image: {
    type: "boolean",
    default: false,
    doc: '`iso_url` is a bootable disk image (a cloud image), not an installer: it is copied (`qemu-img convert`) into the build disk, resized to `disk_size` and booted; no cdrom is attached. Pair it with a NoCloud seed (`cd_content`, `cd_label = "cidata"`).',
    packer: "`disk_image`",
  },
  use_backing_file: {
    type: "boolean",
    default: false,
    doc: 'With `disk_image`: the output is a thin qcow2 overlay whose backing file is the base image (by absolute path), instead of a full copy. The overlay is not compacted (that would flatten it); the manifest\'s `custom_data.backing_file` names the base. Needs `format = "qcow2"`.',
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
    doc: 'Sizes of extra empty disks (`["10G", "512M"]`), attached after the main disk on the same interface. They are written beside the main one as `<name>-1.<format>`, `<name>-2.<format>`, ... (`<vm_name>-1` when vm_name has no extension) and compacted like it.',
    packer: "`disk_additional_size` (Packer names them `<vm_name>-1`)",
  },
  qemu_img_args: {
    type: "table of string[]",
    doc: 'Extra arguments for qemu-img, by command: `{ create = ["-o", "preallocation=metadata"], convert = [...], resize = [...] }`. They go right after the subcommand\'s own options.',
    packer: "`qemu_img_args`",
  },
  disk_size: {
    type: "size",
    max: MAX_DISK_MIB,
    default: "40960M",
    doc: "Virtual disk size: a number of MiB, or with a unit (`512M`, `40G`). From 1 MiB to 64 TiB (`64T`): anything larger is a unit typed wrong.",
    packer: "`disk_size`",
  },
  disk_interface: {
    type: { enum: ["virtio", "virtio-scsi", "scsi", "ide", "sata"] },
    default: "virtio",
    doc: "Bus the disks are attached to: `virtio` (virtio-blk), `virtio-scsi` and `scsi` (a virtio-scsi controller with scsi-hd disks), `ide`, or `sata` (an AHCI controller with ide-hd disks).",
    packer: "`disk_interface` (same choices)",
  },
  disk_cache: { type: "string", default: "writeback", doc: "`cache=` of the disk's `-drive`.", packer: "`disk_cache`" },
  disk_discard: {
    type: { enum: ["ignore", "unmap"] },
    default: "ignore",
    doc: "`discard=` of the disk's `-drive`: `unmap` passes the guest's TRIM through, so deleted blocks leave the image.",
    packer: "`disk_discard`",
  },
  disk_detect_zeroes: {
    type: { enum: ["off", "on", "unmap"] },
    default: "off",
    doc: '`detect-zeroes=` of the disk\'s `-drive`: `unmap` (needs `disk_discard = "unmap"`) turns zeroed blocks into holes as the guest writes them.',
    packer: "`disk_detect_zeroes`",
  },
  memory: {
    type: "size",
    default: 512,
    doc: "Guest memory in MiB (or with a unit), at least 1 MiB. Ignored when `qemuargs` has `-m`.",
    packer: "`memory`",
  },
  cpus: {
    type: "integer",
    min: 1,
    default: 1,
    doc: "Virtual CPUs (`-smp`), at least 1. Ignored when `qemuargs` has `-smp`.",
    packer: "`cpus`",
  },
  sockets: {
    type: "integer",
    min: 0,
    default: 0,
    doc: "CPU sockets in `-smp` (0: QEMU works it out from `cpus`).",
    packer: "`sockets`",
  },
  cores: {
    type: "integer",
    min: 0,
    default: 0,
    doc: "Cores per socket in `-smp` (0: QEMU works it out).",
    packer: "`cores`",
  },
  threads: {
    type: "integer",
    min: 0,
    default: 0,
    doc: "Threads per core in `-smp` (0: QEMU works it out).",
    packer: "`threads`",
  },
  cpu_model: {
    type: "string",
    defaultDoc: "`host` under KVM; `qemu64,+rdrand` under TCG on x86; QEMU's default otherwise",
    doc: "`-cpu` model. Under TCG, `host` does not exist, and QEMU's default x86 CPU (`qemu64`) has no RDRAND: a guest kernel then has no entropy at boot and sshd waits for it (about 1.2 s of every boot on tinyos), so tsimg adds RDRAND, which TCG emulates. Name a model to get exactly that one.",
    packer: "`cpu_model` (Packer: `host` under KVM, nothing under TCG)",
  },
  vga: {
    type: "string",
    doc: "Display adapter (`-vga std|virtio|qxl|cirrus|none`). Default: QEMU's (`std`).",
    packer: "`vga`",
  },
  display: {
    type: "string",
    doc: "QEMU's `-display` when there is a window (`headless = false`): `gtk`, `sdl`, `vnc=...`, `none`. Default: QEMU's choice.",
    packer: "`display`",
  },
  use_default_display: {
    type: "boolean",
    default: false,
    doc: "Pass no `-display` at all, even when headless, and let QEMU pick.",
    packer: "`use_default_display`",
  },
  efi_boot: {
    type: "boolean",
    default: false,
    doc: "Boot with UEFI firmware (OVMF) instead of BIOS. The variable store is copied into the output directory as `efivars.fd`, beside the disk, so the image boots later with the same NVRAM.",
    packer: "`efi_boot`",
  },
  efi_firmware_code: {
    type: "path",
    default: "/usr/share/OVMF/OVMF_CODE_4M.fd",
    doc: "The OVMF code image (read-only pflash). Debian's `ovmf` package provides the default.",
    packer: "`efi_firmware_code`",
  },
  efi_firmware_vars: {
    type: "path",
    default: "/usr/share/OVMF/OVMF_VARS_4M.fd",
    doc: "The OVMF variable store template; copied, never written.",
    packer: "`efi_firmware_vars`",
  },
  efi_drop_efivars: {
    type: "boolean",
    default: false,
    doc: "Do not keep `efivars.fd` in the output directory.",
    packer: "`efi_drop_efivars`",
  },
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
  vnc_port_min: {
    type: "integer",
    ...VNC_PORT,
    default: 5900,
    doc: "Lowest VNC port (TCP, 5900 to 65535: QEMU is given the display number, the port minus 5900).",
    packer: "`vnc_port_min`",
  },
  vnc_port_max: {
    type: "integer",
    ...VNC_PORT,
    default: 6000,
    doc: "Highest VNC port (TCP, 5900 to 65535).",
    packer: "`vnc_port_max`",
  },
  accelerator: {
    type: { enum: ACCELERATORS },
    default: "auto",
    doc: "`auto` boots a tiny test guest under KVM (under 2 s) and uses KVM when it really runs, otherwise TCG with a warning. An explicit `kvm` that cannot run a guest fails at once instead of hanging.",
    packer: "`accelerator` (Packer's default `kvm` hangs or aborts where /dev/kvm is present but broken)",
  },
  machine_type: {
    type: "string",
    default: "pc",
    doc: "QEMU machine type (`-machine type=`).",
    packer: "`machine_type`",
  },
  qemu_binary: {
    type: "string",
    default: "qemu-system-x86_64",
    doc: "The QEMU program to run.",
    packer: "`qemu_binary`",
  },
  qemuargs: {
    type: "string[][]",
    default: [],
    doc: 'Extra switches, e.g. `[["-m", "4096"], ["-serial", "file:serial.out"]]`. A switch given here replaces tsimg\'s default for that switch, as in Packer, and tsimg logs one line per replaced default. `{{ .HTTPIP }}`, `{{ .HTTPPort }}`, `{{ .Name }}`, `{{ .SSHHostPort }}`, `{{ .OutputDir }}` are filled in.',
    packer: "`qemuargs` (same meaning; Packer does not tell you what it replaced)",
  },
  qemuargs_append: {
    type: "string[][]",
    default: [],
    doc: 'Extra switches added after tsimg\'s own, replacing nothing: `[["-device", "virtio-rng-pci"]]`. Same placeholders as `qemuargs`.',
    packer: "none (what packer-plugin-qemu#58 and #221 ask for)",
  },
} as const satisfies OptionTable;

/** `[source]`: starting the VM and typing `boot_command`. */
export const QEMU_BOOT_OPTIONS = {
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
  net_device: {
    type: "string",
    default: "virtio-net",
    doc: "NIC model (`-device <net_device>,netdev=user.0`).",
    packer: "`net_device`",
  },
  boot_wait: {
    type: "duration",
    default: "10s",
    negativeIsZero: true,
    doc: "Time between QEMU starting and typing `boot_command`. A negative duration such as `-1s` means no wait, as in Packer.",
    packer: '`boot_wait` (`-1s` is Packer\'s documented "no wait")',
  },
  boot_menu_timeout: {
    type: "duration",
    default: "60s",
    doc: 'After `boot_wait`, and before typing `boot_command`: how long tsimg may wait for the boot menu to draw, that is for the console (read with QMP `screendump`) to show something and then stay unchanged for 0.5 s. tsimg types in milliseconds, so with `boot_wait = "0s"` it would otherwise type while the BIOS starts, and the keys are lost; a menu that is already up costs about 0.5 s. When the time runs out (a screen that keeps changing) tsimg types anyway, with a warning. `0s` turns the wait off; it is skipped when QEMU has no screen to dump (`-vga none`).',
    packer: "none (Packer types so slowly, 100 ms per key event, that a menu drawn late usually still gets most keys)",
  },
  boot_command: {
    type: "string[]",
    default: [],
    doc: "Keys typed into the boot menu, in Packer's syntax (`<tab>`, `<enter>`, `<wait5>`, `<leftCtrlOn>`, `<leftCommand>` (Alt), ...). Entries are joined. A newline in an entry (`\\n` in a TOML basic string) types Enter, and a tab character (`\\t`) types Tab, as in Packer; a CRLF line ending is one Enter. Each key event goes to QEMU's keyboard in order (QMP `input-send-event`), at least `boot_key_interval` apart and, with QEMU's PS/2 keyboard, never more than a few keys ahead of what the guest has taken (QEMU's PS/2 trace, and a BIOS menu's key ring in guest memory), so a guest that is busy or that a loaded host starves does not lose keys; a guest that takes nothing for 5 s gets a warning that keys may be lost.",
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
    // A guest asks for its kickstart soon after the kernel starts; under TCG, loading a large
    // installer initrd through the BIOS can take minutes. 5 leaves room, and is still far
    // below the Rocky template's 25-minute ssh_timeout.
    default: "5m",
    doc: "When `boot_command` names the HTTP server (`{{ .HTTPIP }}`/`{{ .HTTPPort }}`): how long after typing it the guest has to request anything (a kickstart) from it. On expiry tsimg saves a screenshot as `<output_directory>.boot-timeout-<n>.png`, resets the VM and types again (`boot_command_retries`), then fails saying which URL the guest never fetched (a failed build keeps `<output_directory>.failure.png`), instead of waiting out `ssh_timeout`. `0s` turns the check off.",
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
    doc: "Least time between two key events (press or release), so a character takes at least two intervals and a shifted one four. With QEMU's PS/2 keyboard, typing also waits for the guest to take the keys (see `boot_command`), so the interval is only a floor; without it (a QEMU built without the log trace backend says so in a warning) the interval alone paces, and a busy guest can lose keys: raise it then.",
    packer: "`boot_key_interval` (Packer's default is 100 ms: about 0.2 s per character, 0.4 s per shifted one)",
  },
} as const satisfies OptionTable;

/** `[source]`: the host port forwarded to the guest's SSH port. */
export const QEMU_HOST_PORT_OPTIONS = {
  host_port_min: {
    type: "integer",
    ...PORT,
    default: 2222,
    doc: "Lowest host port forwarded to the guest's SSH port (bound on 127.0.0.1); 1 to 65535, and not above `host_port_max`.",
    packer: "`host_port_min` (Packer binds every interface)",
  },
  host_port_max: {
    type: "integer",
    ...PORT,
    default: 4444,
    doc: "Highest host port forwarded to the guest's SSH port (1 to 65535).",
    packer: "`host_port_max`",
  },
} as const satisfies OptionTable;

/** `[source]`: stopping the VM and compacting its disk. */
export const QEMU_SHUTDOWN_OPTIONS = {
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
  skip_compaction: {
    type: "boolean",
    default: false,
    doc: "Keep the disk as written instead of `qemu-img convert`ing it (qcow2 only).",
    packer: "`skip_compaction`",
  },
  disk_compression: {
    type: "boolean",
    default: false,
    doc: "Compress the qcow2 during compaction (`qemu-img convert -c`).",
    packer: "`disk_compression`",
  },
} as const satisfies OptionTable;

/** Every option of the qemu builder itself. */
export const QEMU_OPTIONS = {
  ...QEMU_MACHINE_OPTIONS,
  ...QEMU_BOOT_OPTIONS,
  ...QEMU_HOST_PORT_OPTIONS,
  ...QEMU_SHUTDOWN_OPTIONS,
} as const satisfies OptionTable;

/** qemu_img_args once checked: extra arguments of each qemu-img command tsimg runs. */
export interface QemuImgArgs {
  create: string[];
  convert: string[];
  resize: string[];
}

/** The qemu builder's options after defaults, unit parsing (MiB, ms) and path resolution. */
export type QemuConfig = ConfigOf<typeof QEMU_OPTIONS, { qemu_img_args: QemuImgArgs }>;
export type Accelerator = QemuConfig["accelerator"];
