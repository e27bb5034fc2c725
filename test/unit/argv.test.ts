import { describe, expect, test } from "vitest";
import { buildQemuArgv, formatCommandLine, type ArgvInputs } from "../../src/qemu/argv.js";
import type { SourceConfig } from "../../src/template/types.js";

// The [source] defaults, as loadTemplate fills them in.
function source(overrides: Partial<SourceConfig> = {}): SourceConfig {
  return {
    iso_url: "/isos/rocky9.iso",
    iso_checksum: "none",
    output_directory: "/work/output-rocky9",
    vm_name: "rocky9.qcow2",
    format: "qcow2",
    disk_size: 40_960,
    disk_interface: "virtio",
    disk_cache: "writeback",
    disk_discard: "ignore",
    memory: 512,
    cpus: 1,
    accelerator: "auto",
    machine_type: "pc",
    qemu_binary: "qemu-system-x86_64",
    qemuargs: [],
    headless: false,
    net_device: "virtio-net",
    boot_wait: 10_000,
    boot_command: [],
    boot_key_interval: 20,
    http_bind_address: "127.0.0.1",
    http_port_min: 8000,
    http_port_max: 9000,
    host_port_min: 2222,
    host_port_max: 4444,
    communicator: "ssh",
    ssh_username: "root",
    ssh_port: 22,
    ssh_timeout: 300_000,
    ssh_handshake_attempts: 10,
    shutdown_command: "",
    shutdown_timeout: 300_000,
    skip_compaction: false,
    disk_compression: false,
    ...overrides,
  };
}

function inputs(overrides: Partial<ArgvInputs> = {}): ArgvInputs {
  return {
    source: source(),
    accelerator: "tcg",
    diskPath: "/work/output-rocky9/rocky9.qcow2",
    sshHostPort: 3272,
    qmpSocket: "/tmp/tsimg-x/qmp.sock",
    serialLog: "/tmp/tsimg-x/serial.log",
    window: false,
    userArgs: [],
    ...overrides,
  };
}

/** argv as [switch, value] pairs (every switch in these tests takes a value). */
function pairs(args: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i] as string;
    const value = args[i + 1];
    if (!flag.startsWith("-") || value === undefined || value.startsWith("-")) throw new Error(`not a switch with a value at ${i}: ${args.join(" ")}`);
    out.push([flag, value]);
  }
  return out;
}

describe("buildQemuArgv", () => {
  test("the defaults", () => {
    const argv = buildQemuArgv(inputs());
    expect(argv.args).toEqual([
      "-name", "rocky9.qcow2",
      "-machine", "type=pc,accel=tcg",
      "-m", "512M",
      "-smp", "1",
      "-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:3272-:22",
      "-device", "virtio-net,netdev=user.0",
      "-drive", "file=/work/output-rocky9/rocky9.qcow2,if=virtio,cache=writeback,discard=ignore,format=qcow2",
      "-drive", "file=/isos/rocky9.iso,media=cdrom",
      "-boot", "once=d",
      "-serial", "file:/tmp/tsimg-x/serial.log",
      "-display", "none",
      "-qmp", "unix:/tmp/tsimg-x/qmp.sock,server=on,wait=off",
    ]);
    expect(argv.replaced).toEqual([]);
    expect(argv.serialPath).toBe("/tmp/tsimg-x/serial.log");
  });

  test("source options reach their switches", () => {
    const argv = buildQemuArgv(
      inputs({
        source: source({ memory: 2048, cpus: 4, machine_type: "q35", net_device: "e1000", disk_interface: "ide", format: "raw", ssh_port: 2200, vm_name: "x.raw" }),
        accelerator: "kvm",
        sshHostPort: 4000,
      }),
    );
    expect(pairs(argv.args)).toEqual(
      expect.arrayContaining([
        ["-name", "x.raw"],
        ["-machine", "type=q35,accel=kvm"],
        ["-m", "2048M"],
        ["-smp", "4"],
        ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:4000-:2200"],
        ["-device", "e1000,netdev=user.0"],
        ["-drive", "file=/work/output-rocky9/rocky9.qcow2,if=ide,cache=writeback,discard=ignore,format=raw"],
      ]),
    );
  });

  test("with a window there is no -display none", () => {
    expect(buildQemuArgv(inputs({ window: true })).args).not.toContain("-display");
  });

  test.each<[string, string[][], string[]]>([
    ["-m", [["-m", "4096"]], ["qemuargs -m replaces tsimg's default memory"]],
    ["-smp", [["-smp", "2"]], ["qemuargs -smp replaces tsimg's default CPU count"]],
    ["-serial", [["-serial", "file:serial.out"]], ["qemuargs -serial replaces tsimg's default serial console capture"]],
    ["-drive", [["-drive", "file=a.qcow2,if=virtio"]], ["qemuargs -drive replaces tsimg's default disk drive and cdrom drive"]],
    ["-drive given twice", [["-drive", "file=a.qcow2"], ["-drive", "file=b.iso,media=cdrom"]], ["qemuargs -drive replaces tsimg's default disk drive and cdrom drive"]],
    ["-display", [["-display", "gtk"]], ["qemuargs -display replaces tsimg's default display (headless)"]],
    ["-cpu (no default)", [["-cpu", "host"]], []],
    [
      "-m and -smp",
      [["-m", "4096"], ["-smp", "2"]],
      ["qemuargs -m replaces tsimg's default memory", "qemuargs -smp replaces tsimg's default CPU count"],
    ],
  ])("qemuargs %s", (_, userArgs, replaced) => {
    const argv = buildQemuArgv(inputs({ userArgs }));
    expect(argv.replaced).toEqual(replaced);
    const userFlags = new Set(userArgs.map((arg) => arg[0]));
    const defaultPairs = pairs(buildQemuArgv(inputs()).args);
    const expected = [
      ...defaultPairs.filter(([flag]) => !userFlags.has(flag) && flag !== "-qmp"),
      ...userArgs,
      ["-qmp", "unix:/tmp/tsimg-x/qmp.sock,server=on,wait=off"],
    ];
    expect(pairs(argv.args)).toEqual(expected);
  });

  test("a switch without a value is passed as is", () => {
    const argv = buildQemuArgv(inputs({ userArgs: [["-no-reboot"]] }));
    expect(argv.args.slice(-3)).toEqual(["-no-reboot", "-qmp", "unix:/tmp/tsimg-x/qmp.sock,server=on,wait=off"]);
    expect(argv.replaced).toEqual([]);
  });

  test.each<[string, string[][], string | undefined]>([
    ["no -serial: tsimg's log", [], "/tmp/tsimg-x/serial.log"],
    ["-serial file:PATH: the user's file", [["-serial", "file:serial.out"]], "serial.out"],
    ["-serial file: with an absolute path", [["-serial", "file:/var/log/guest.log"]], "/var/log/guest.log"],
    ["-serial stdio: nothing to follow", [["-serial", "stdio"]], undefined],
    ["a second -serial file: after a first one", [["-serial", "stdio"], ["-serial", "file:second.out"]], "second.out"],
  ])("serialPath with %s", (_, userArgs, expected) => {
    expect(buildQemuArgv(inputs({ userArgs })).serialPath).toBe(expected);
  });

  test("the Rocky 9 seed template gives Packer's switches, apart from the documented differences", () => {
    // shared/reference/packer-seed-argv.md, with tsimg given the same names, paths and port.
    const packer: [string, string][] = [
      ["-device", "virtio-net,netdev=user.0"],
      ["-drive", "file=output-autogenerated_1/packer-autogenerated_1,if=virtio,cache=writeback,discard=ignore,format=qcow2"],
      ["-drive", "file=/isos/Rocky-9-x86_64-minimal.iso,media=cdrom"],
      ["-machine", "type=pc,accel=kvm"],
      ["-m", "4096"],
      ["-cpu", "host"],
      ["-vnc", "127.0.0.1:15"],
      ["-name", "packer-autogenerated_1"],
      ["-netdev", "user,id=user.0,hostfwd=tcp::3272-:22"],
      ["-smp", "2,sockets=2,cores=1,threads=1"],
      ["-serial", "file:serial.out"],
      ["-boot", "once=d"],
    ];
    const qemuargs = [["-m", "4096"], ["-smp", "2,sockets=2,cores=1,threads=1"], ["-cpu", "host"], ["-serial", "file:serial.out"]];
    const argv = buildQemuArgv(
      inputs({
        source: source({ vm_name: "packer-autogenerated_1", iso_url: "/isos/Rocky-9-x86_64-minimal.iso", qemuargs }),
        accelerator: "kvm",
        diskPath: "output-autogenerated_1/packer-autogenerated_1",
        sshHostPort: 3272,
        userArgs: qemuargs,
      }),
    );
    const key = ([flag, value]: [string, string]) => `${flag} ${value}`;
    const expected = packer
      // Documented differences: the SSH forward binds 127.0.0.1, not every interface...
      .map(([flag, value]): [string, string] => [flag, value.replace("hostfwd=tcp::", "hostfwd=tcp:127.0.0.1:")])
      // ...keys are typed over QMP, not VNC...
      .filter(([flag]) => flag !== "-vnc")
      .concat([
        ["-qmp", "unix:/tmp/tsimg-x/qmp.sock,server=on,wait=off"],
        // ...and there is no window when headless (Packer opens a VNC server instead).
        ["-display", "none"],
      ]);
    expect(pairs(argv.args).map(key).sort()).toEqual(expected.map(key).sort());
    expect(argv.replaced).toEqual([
      "qemuargs -m replaces tsimg's default memory",
      "qemuargs -smp replaces tsimg's default CPU count",
      "qemuargs -serial replaces tsimg's default serial console capture",
    ]);
    expect(argv.serialPath).toBe("serial.out");
  });
});

describe("formatCommandLine", () => {
  test.each([
    [["-m", "512M"], "qemu-system-x86_64 -m 512M"],
    [["-name", "my vm"], "qemu-system-x86_64 -name 'my vm'"],
    [["-name", "it's"], "qemu-system-x86_64 -name 'it'\\''s'"],
    [["-drive", "file=/a b/c.qcow2,if=virtio"], "qemu-system-x86_64 -drive 'file=/a b/c.qcow2,if=virtio'"],
  ])("%j", (args, expected) => {
    expect(formatCommandLine("qemu-system-x86_64", args)).toBe(expected);
  });
});
