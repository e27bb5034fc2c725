// QEMU's command line. tsimg's defaults follow packer-plugin-qemu's (see
// shared/reference/packer-seed-argv.md); a switch in qemuargs replaces every default
// of that switch, as in Packer, and each replacement is reported so nobody is surprised.
import type { SourceConfig } from "../template/types.js";

export interface ArgvInputs {
  source: SourceConfig;
  accelerator: string;
  diskPath: string;
  /** A number at run time; a placeholder when previewing. */
  sshHostPort: number | string;
  qmpSocket: string;
  /** Where the serial console goes when qemuargs has no -serial. */
  serialLog: string;
  /** Show a window (headless = false and a display exists). */
  window: boolean;
  /** qemuargs with run-time placeholders already filled in. */
  userArgs: string[][];
}

export interface QemuArgv {
  args: string[];
  /** One line per default that a qemuargs switch replaced. */
  replaced: string[];
  /** The serial file to follow: ours, or the one the user's -serial file:... names. */
  serialPath: string | undefined;
}

type Entry = { flag: string; value?: string; what: string };

/** Assembles QEMU's argv: defaults, minus those the user replaced, plus the user's switches. */
export function buildQemuArgv(inputs: ArgvInputs): QemuArgv {
  const { source } = inputs;
  const defaults: Entry[] = [
    { flag: "-name", value: source.vm_name, what: "VM name" },
    { flag: "-machine", value: `type=${source.machine_type},accel=${inputs.accelerator}`, what: "machine type and accelerator" },
    { flag: "-m", value: `${source.memory}M`, what: "memory" },
    { flag: "-smp", value: String(source.cpus), what: "CPU count" },
    {
      flag: "-netdev",
      value: `user,id=user.0,hostfwd=tcp:127.0.0.1:${inputs.sshHostPort}-:${source.ssh_port}`,
      what: "user network with the SSH port forward",
    },
    { flag: "-device", value: `${source.net_device},netdev=user.0`, what: "network card" },
    {
      flag: "-drive",
      value: `file=${inputs.diskPath},if=${source.disk_interface},cache=${source.disk_cache},discard=${source.disk_discard},format=${source.format}`,
      what: "disk drive",
    },
    { flag: "-drive", value: `file=${source.iso_url},media=cdrom`, what: "cdrom drive" },
    { flag: "-boot", value: "once=d", what: "boot order (cdrom first, then disk)" },
    { flag: "-serial", value: `file:${inputs.serialLog}`, what: "serial console capture" },
    ...(inputs.window ? [] : [{ flag: "-display", value: "none", what: "display (headless)" }]),
  ];
  const userFlags = new Set(inputs.userArgs.map((arg) => arg[0]).filter((flag): flag is string => Boolean(flag)));
  const replaced: string[] = [];
  const kept = defaults.filter((entry) => !userFlags.has(entry.flag));
  for (const flag of userFlags) {
    const lost = defaults.filter((entry) => entry.flag === flag);
    if (lost.length > 0) replaced.push(`qemuargs ${flag} replaces tsimg's default ${lost.map((e) => e.what).join(" and ")}`);
  }
  const args = kept.flatMap((entry) => (entry.value === undefined ? [entry.flag] : [entry.flag, entry.value]));
  for (const userArg of inputs.userArgs) args.push(...userArg);
  // QMP is how tsimg drives QEMU; it is never replaced.
  args.push("-qmp", `unix:${inputs.qmpSocket},server=on,wait=off`);
  return { args, replaced, serialPath: findSerialFile(inputs.userArgs) ?? (userFlags.has("-serial") ? undefined : inputs.serialLog) };
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
