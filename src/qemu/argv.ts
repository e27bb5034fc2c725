// QEMU's command line. tsimg's defaults follow packer-plugin-qemu's (see
// shared/reference/packer-seed-argv.md); a switch in qemuargs replaces every default
// of that switch, as in Packer, and each replacement is reported so nobody is surprised.
import type { QemuConfig } from "./options.js";

/** The qemu builder's options, and the guest's SSH port it forwards a host port to. */
type SourceConfig = QemuConfig & { ssh_port: number };

export interface ArgvInputs {
  source: SourceConfig;
  accelerator: string;
  diskPath: string;
  /** disk_additional_size disks, in order. */
  additionalDisks?: string[];
  /** The installer ISO; absent for a disk_image build, which boots its disk. */
  isoPath?: string;
  /** The cd_files/cd_content CD. */
  seedCdPath?: string;
  /** The floppy_files/floppy_content image. */
  floppyPath?: string;
  /** The build's copy of the OVMF variable store (efi_boot). */
  efiVarsPath?: string;
  /** swtpm's control socket (vtpm). */
  tpmSocket?: string;
  /** VNC port (vnc_bind_address set); a placeholder when previewing. */
  vncPort?: number | string;
  /** A number at run time; a placeholder when previewing. */
  sshHostPort: number | string;
  qmpSocket: string;
  /** Where the serial console goes when qemuargs has no -serial. */
  serialLog: string;
  /** Show a window (headless = false and a display exists). */
  window: boolean;
  /** qemuargs with run-time placeholders already filled in. */
  userArgs: string[][];
  /** qemuargs_append with run-time placeholders already filled in. */
  appendArgs?: string[][];
  /** Boot the disk even with the ISO attached (a build continuing from a cached layer: the OS is installed). */
  bootDisk?: boolean;
}

export interface QemuArgv {
  args: string[];
  /** One line per default that a qemuargs switch replaced. */
  replaced: string[];
  /** The serial file to follow: ours, or the one the user's -serial file:... names. */
  serialPath: string | undefined;
}

type Entry = { flag: string; value?: string; what: string };

/**
 * The CPU when the template names none: the host's under KVM. Under TCG, QEMU's default x86
 * CPU (qemu64) has no RDRAND, so a guest kernel has no entropy at boot and sshd waits for it
 * (1.2 s of every boot on tinyos); TCG emulates RDRAND, so tsimg adds it. Other
 * architectures keep QEMU's default.
 */
function defaultCpuModel(accelerator: string, qemuBinary: string): string | undefined {
  if (accelerator === "kvm") return "host";
  if (/qemu-system-(x86_64|i386)$/.test(qemuBinary)) return "qemu64,+rdrand";
  return undefined;
}

/** Assembles QEMU's argv: defaults, minus those the user replaced, plus the user's switches. */
export function buildQemuArgv(inputs: ArgvInputs): QemuArgv {
  const { source } = inputs;
  const cpuModel = source.cpu_model ?? defaultCpuModel(inputs.accelerator, source.qemu_binary);
  // OVMF ignores -boot once=d; it follows bootindex: the disk first (empty, so it falls
  // through to the installer CD), and after the install the disk boots.
  const uefi = inputs.efiVarsPath !== undefined;
  const defaults: Entry[] = [
    { flag: "-name", value: source.vm_name, what: "VM name" },
    {
      flag: "-machine",
      value: `type=${source.machine_type},accel=${inputs.accelerator}`,
      what: "machine type and accelerator",
    },
    ...(cpuModel ? [{ flag: "-cpu", value: cpuModel, what: "CPU model" }] : []),
    { flag: "-m", value: `${source.memory}M`, what: "memory" },
    { flag: "-smp", value: smp(source), what: "CPU count" },
    {
      flag: "-netdev",
      value: `user,id=user.0,hostfwd=tcp:127.0.0.1:${inputs.sshHostPort}-:${source.ssh_port}`,
      what: "user network with the SSH port forward",
    },
    { flag: "-device", value: `${source.net_device},netdev=user.0`, what: "network card" },
    ...diskEntries(source, [inputs.diskPath, ...(inputs.additionalDisks ?? [])], uefi),
    ...(inputs.isoPath ? cdromEntries(inputs.isoPath, uefi) : []),
    ...(inputs.seedCdPath
      ? [{ flag: "-drive", value: `file=${inputs.seedCdPath},media=cdrom`, what: "cd_files/cd_content CD" }]
      : []),
    ...(inputs.floppyPath
      ? [{ flag: "-drive", value: `file=${inputs.floppyPath},if=floppy,index=0,format=raw`, what: "floppy drive" }]
      : []),
    ...(inputs.efiVarsPath
      ? [
          {
            flag: "-drive",
            value: `if=pflash,unit=0,format=raw,readonly=on,file=${source.efi_firmware_code}`,
            what: "UEFI firmware",
          },
          {
            flag: "-drive",
            value: `if=pflash,unit=1,format=raw,file=${inputs.efiVarsPath}`,
            what: "UEFI variable store",
          },
        ]
      : []),
    // An installer boots from its cdrom once; the reboot after the install boots the disk.
    {
      flag: "-boot",
      value: inputs.isoPath && !inputs.bootDisk ? "once=d" : "c",
      what: inputs.isoPath ? "boot order (cdrom first, then disk)" : "boot order (disk)",
    },
    { flag: "-serial", value: `file:${inputs.serialLog}`, what: "serial console capture" },
    ...displayEntries(source, inputs.window),
    ...(source.vga ? [{ flag: "-vga", value: source.vga, what: "display adapter" }] : []),
    ...(inputs.tpmSocket
      ? [
          { flag: "-chardev", value: `socket,id=chrtpm,path=${inputs.tpmSocket}`, what: "swtpm socket" },
          { flag: "-tpmdev", value: "emulator,id=tpm0,chardev=chrtpm", what: "TPM backend" },
          { flag: "-device", value: "tpm-tis,tpmdev=tpm0", what: "TPM device" },
        ]
      : []),
    ...(inputs.vncPort !== undefined
      ? [{ flag: "-vnc", value: vncValue(source.vnc_bind_address ?? "127.0.0.1", inputs.vncPort), what: "VNC server" }]
      : []),
  ];
  const userFlags = new Set(inputs.userArgs.map((arg) => arg[0]).filter((flag): flag is string => Boolean(flag)));
  const replaced: string[] = [];
  const kept = defaults.filter((entry) => !userFlags.has(entry.flag));
  for (const flag of userFlags) {
    const lost = defaults.filter((entry) => entry.flag === flag);
    if (lost.length > 0)
      replaced.push(`qemuargs ${flag} replaces tsimg's default ${lost.map((e) => e.what).join(" and ")}`);
  }
  const args = kept.flatMap((entry) => (entry.value === undefined ? [entry.flag] : [entry.flag, entry.value]));
  for (const userArg of inputs.userArgs) args.push(...userArg);
  for (const appended of inputs.appendArgs ?? []) args.push(...appended);
  // QMP is how tsimg drives QEMU; it is never replaced.
  args.push("-qmp", `unix:${inputs.qmpSocket},server=on,wait=off`);
  const allUserArgs = [...inputs.userArgs, ...(inputs.appendArgs ?? [])];
  return {
    args,
    replaced,
    serialPath:
      findSerialFile(allUserArgs) ?? (allUserArgs.some((a) => a[0] === "-serial") ? undefined : inputs.serialLog),
  };
}

/** "-smp 2" or "-smp 4,sockets=1,cores=2,threads=2". */
function smp(source: SourceConfig): string {
  const topology = (["sockets", "cores", "threads"] as const)
    .filter((k) => source[k] > 0)
    .map((k) => `${k}=${source[k]}`);
  return [String(source.cpus), ...topology].join(",");
}

function cdromEntries(isoPath: string, bootIndex: boolean): Entry[] {
  if (!bootIndex) return [{ flag: "-drive", value: `file=${isoPath},media=cdrom`, what: "cdrom drive" }];
  return [
    { flag: "-drive", value: `file=${isoPath},media=cdrom,if=none,id=cdrom0`, what: "cdrom drive" },
    { flag: "-device", value: "ide-cd,drive=cdrom0,bootindex=1", what: "cdrom device" },
  ];
}

/**
 * The disks on their bus: virtio-blk and IDE take -drive if=...; SCSI and SATA need a
 * controller and a -device per disk, and so does any disk that needs a bootindex (UEFI).
 */
function diskEntries(source: SourceConfig, paths: string[], bootIndex: boolean): Entry[] {
  const zeroes = source.disk_detect_zeroes !== "off" ? `,detect-zeroes=${source.disk_detect_zeroes}` : "";
  const options = `cache=${source.disk_cache},discard=${source.disk_discard}${zeroes},format=${source.format}`;
  const what = (i: number) => (i === 0 ? "disk drive" : `additional disk ${i}`);
  const boot = (i: number) => (bootIndex && i === 0 ? ",bootindex=0" : "");
  switch (source.disk_interface) {
    case "virtio":
    case "ide":
      if (!bootIndex)
        return paths.map((path, i) => ({
          flag: "-drive",
          value: `file=${path},if=${source.disk_interface},${options}`,
          what: what(i),
        }));
      return paths.flatMap((path, i) => [
        { flag: "-drive", value: `file=${path},if=none,id=drive${i},${options}`, what: what(i) },
        {
          flag: "-device",
          value: `${source.disk_interface === "virtio" ? "virtio-blk-pci" : "ide-hd"},drive=drive${i}${boot(i)}`,
          what: `${what(i)} (device)`,
        },
      ]);
    case "virtio-scsi":
    case "scsi":
      return [
        { flag: "-device", value: "virtio-scsi-pci,id=scsi0", what: "SCSI controller" },
        ...paths.flatMap((path, i) => [
          { flag: "-drive", value: `file=${path},if=none,id=drive${i},${options}`, what: what(i) },
          { flag: "-device", value: `scsi-hd,bus=scsi0.0,drive=drive${i}${boot(i)}`, what: `${what(i)} (SCSI device)` },
        ]),
      ];
    case "sata":
      return [
        { flag: "-device", value: "ahci,id=ahci0", what: "SATA controller" },
        ...paths.flatMap((path, i) => [
          { flag: "-drive", value: `file=${path},if=none,id=drive${i},${options}`, what: what(i) },
          {
            flag: "-device",
            value: `ide-hd,bus=ahci0.${i},drive=drive${i}${boot(i)}`,
            what: `${what(i)} (SATA device)`,
          },
        ]),
      ];
  }
}

function displayEntries(source: SourceConfig, window: boolean): Entry[] {
  if (source.use_default_display) return [];
  if (!window) return [{ flag: "-display", value: "none", what: "display (headless)" }];
  return source.display ? [{ flag: "-display", value: source.display, what: "display" }] : [];
}

/** QEMU's -vnc takes a display number (port - 5900). */
function vncValue(address: string, port: number | string): string {
  return `${address}:${typeof port === "number" ? port - 5900 : port}`;
}

/** The file behind a user's `-serial file:PATH`, if any. */
function findSerialFile(userArgs: string[][]): string | undefined {
  for (const arg of userArgs) {
    if (arg[0] === "-serial" && arg[1]?.startsWith("file:")) return arg[1].slice("file:".length);
  }
  return undefined;
}

/** Quotes argv for display: `qemu-system-x86_64 -m 512M ...`. */
export function formatCommandLine(binary: string, args: string[]): string {
  return [binary, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}
