import { describe, expect, test } from "vitest";
import { buildQemuArgv, formatCommandLine, type ArgvInputs } from "../../src/qemu/argv.js";
import type { SourceConfig } from "../../src/builder/plan.js";

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
    disk_image: false,
    use_backing_file: false,
    skip_resize_disk: false,
    disk_additional_size: [],
    qemu_img_args: { create: [], convert: [], resize: [] },
    disk_detect_zeroes: "off",
    sockets: 0,
    cores: 0,
    threads: 0,
    use_default_display: false,
    efi_boot: false,
    efi_firmware_code: "/usr/share/OVMF/OVMF_CODE_4M.fd",
    efi_firmware_vars: "/usr/share/OVMF/OVMF_VARS_4M.fd",
    efi_drop_efivars: false,
    vnc_port_min: 5900,
    vnc_port_max: 6000,
    qemuargs_append: [],
    cd_files: [],
    floppy_files: [],
    vtpm: false,
    use_tpm1: false,
    floppy_label: "floppy",
    boot_screenshots: false,
    ssh_clear_authorized_keys: false,
    pause_before_connecting: 0,
    ssh_keep_alive_interval: 5000,
    ssh_read_write_timeout: 0,
    ...overrides,
  };
}

function inputs(overrides: Partial<ArgvInputs> = {}): ArgvInputs {
  return {
    source: source(),
    accelerator: "tcg",
    diskPath: "/work/output-rocky9/rocky9.qcow2",
    isoPath: "/isos/rocky9.iso",
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
    if (!flag.startsWith("-") || value === undefined || value.startsWith("-"))
      throw new Error(`not a switch with a value at ${i}: ${args.join(" ")}`);
    out.push([flag, value]);
  }
  return out;
}

describe("buildQemuArgv", () => {
  test("the defaults", () => {
    const argv = buildQemuArgv(inputs());
    expect(argv.args).toEqual([
      "-name",
      "rocky9.qcow2",
      "-machine",
      "type=pc,accel=tcg",
      "-cpu",
      "qemu64,+rdrand",
      "-m",
      "512M",
      "-smp",
      "1",
      "-netdev",
      "user,id=user.0,hostfwd=tcp:127.0.0.1:3272-:22",
      "-device",
      "virtio-net,netdev=user.0",
      "-drive",
      "file=/work/output-rocky9/rocky9.qcow2,if=virtio,cache=writeback,discard=ignore,format=qcow2",
      "-drive",
      "file=/isos/rocky9.iso,media=cdrom",
      "-boot",
      "once=d",
      "-serial",
      "file:/tmp/tsimg-x/serial.log",
      "-display",
      "none",
      "-qmp",
      "unix:/tmp/tsimg-x/qmp.sock,server=on,wait=off",
    ]);
    expect(argv.replaced).toEqual([]);
    expect(argv.serialPath).toBe("/tmp/tsimg-x/serial.log");
  });

  test("source options reach their switches", () => {
    const argv = buildQemuArgv(
      inputs({
        source: source({
          memory: 2048,
          cpus: 4,
          machine_type: "q35",
          net_device: "e1000",
          disk_interface: "ide",
          format: "raw",
          ssh_port: 2200,
          vm_name: "x.raw",
        }),
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
    [
      "-drive",
      [["-drive", "file=a.qcow2,if=virtio"]],
      ["qemuargs -drive replaces tsimg's default disk drive and cdrom drive"],
    ],
    [
      "-drive given twice",
      [
        ["-drive", "file=a.qcow2"],
        ["-drive", "file=b.iso,media=cdrom"],
      ],
      ["qemuargs -drive replaces tsimg's default disk drive and cdrom drive"],
    ],
    ["-display", [["-display", "gtk"]], ["qemuargs -display replaces tsimg's default display (headless)"]],
    ["-cpu", [["-cpu", "host"]], ["qemuargs -cpu replaces tsimg's default CPU model"]],
    [
      "-m and -smp",
      [
        ["-m", "4096"],
        ["-smp", "2"],
      ],
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
    [
      "a second -serial file: after a first one",
      [
        ["-serial", "stdio"],
        ["-serial", "file:second.out"],
      ],
      "second.out",
    ],
  ])("serialPath with %s", (_, userArgs, expected) => {
    expect(buildQemuArgv(inputs({ userArgs })).serialPath).toBe(expected);
  });

  test("the Rocky 9 seed template gives Packer's switches, apart from the documented differences", () => {
    // shared/reference/packer-seed-argv.md, with tsimg given the same names, paths and port.
    const packer: [string, string][] = [
      ["-device", "virtio-net,netdev=user.0"],
      [
        "-drive",
        "file=output-autogenerated_1/packer-autogenerated_1,if=virtio,cache=writeback,discard=ignore,format=qcow2",
      ],
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
    const qemuargs = [
      ["-m", "4096"],
      ["-smp", "2,sockets=2,cores=1,threads=1"],
      ["-cpu", "host"],
      ["-serial", "file:serial.out"],
    ];
    const argv = buildQemuArgv(
      inputs({
        source: source({ vm_name: "packer-autogenerated_1", iso_url: "/isos/Rocky-9-x86_64-minimal.iso", qemuargs }),
        accelerator: "kvm",
        diskPath: "output-autogenerated_1/packer-autogenerated_1",
        isoPath: "/isos/Rocky-9-x86_64-minimal.iso",
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
      "qemuargs -cpu replaces tsimg's default CPU model",
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

describe("buildQemuArgv: disks, media, machine", () => {
  const get = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

  test("virtio-scsi: one controller, a -drive if=none and a scsi-hd per disk, additional disks included", () => {
    const argv = buildQemuArgv(
      inputs({ source: source({ disk_interface: "virtio-scsi" }), additionalDisks: ["/o/d-1", "/o/d-2"] }),
    );
    expect(get(argv.args, "-device")).toEqual([
      "virtio-net,netdev=user.0",
      "virtio-scsi-pci,id=scsi0",
      "scsi-hd,bus=scsi0.0,drive=drive0",
      "scsi-hd,bus=scsi0.0,drive=drive1",
      "scsi-hd,bus=scsi0.0,drive=drive2",
    ]);
    expect(get(argv.args, "-drive").slice(0, 3)).toEqual([
      "file=/work/output-rocky9/rocky9.qcow2,if=none,id=drive0,cache=writeback,discard=ignore,format=qcow2",
      "file=/o/d-1,if=none,id=drive1,cache=writeback,discard=ignore,format=qcow2",
      "file=/o/d-2,if=none,id=drive2,cache=writeback,discard=ignore,format=qcow2",
    ]);
  });

  test("sata: an AHCI controller and one ide-hd per port", () => {
    const argv = buildQemuArgv(inputs({ source: source({ disk_interface: "sata" }), additionalDisks: ["/o/d-1"] }));
    expect(get(argv.args, "-device").slice(1)).toEqual([
      "ahci,id=ahci0",
      "ide-hd,bus=ahci0.0,drive=drive0",
      "ide-hd,bus=ahci0.1,drive=drive1",
    ]);
  });

  test("disk_detect_zeroes and disk_discard reach the drive; off is left out as in Packer", () => {
    const argv = buildQemuArgv(
      inputs({ source: source({ disk_discard: "unmap", disk_detect_zeroes: "unmap", format: "raw" }) }),
    );
    expect(get(argv.args, "-drive")[0]).toBe(
      "file=/work/output-rocky9/rocky9.qcow2,if=virtio,cache=writeback,discard=unmap,detect-zeroes=unmap,format=raw",
    );
  });

  test("disk_image: no installer cdrom, boot from the disk; the seed CD is a second cdrom", () => {
    const argv = buildQemuArgv(inputs({ isoPath: undefined, seedCdPath: "/tmp/w/cd.iso" }));
    expect(get(argv.args, "-drive").slice(1)).toEqual(["file=/tmp/w/cd.iso,media=cdrom"]);
    expect(get(argv.args, "-boot")).toEqual(["c"]);
  });

  test("efi_boot: read-only firmware code, the build's copy of the variables, and a bootindex for disk then CD", () => {
    const argv = buildQemuArgv(inputs({ efiVarsPath: "/o/efivars.fd" }));
    expect(get(argv.args, "-drive")).toEqual([
      "file=/work/output-rocky9/rocky9.qcow2,if=none,id=drive0,cache=writeback,discard=ignore,format=qcow2",
      "file=/isos/rocky9.iso,media=cdrom,if=none,id=cdrom0",
      "if=pflash,unit=0,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
      "if=pflash,unit=1,format=raw,file=/o/efivars.fd",
    ]);
    expect(get(argv.args, "-device").slice(1)).toEqual([
      "virtio-blk-pci,drive=drive0,bootindex=0",
      "ide-cd,drive=cdrom0,bootindex=1",
    ]);
  });

  test("cpu topology, cpu_model, vga, vnc", () => {
    const argv = buildQemuArgv(
      inputs({
        source: source({
          cpus: 4,
          sockets: 1,
          cores: 2,
          threads: 2,
          cpu_model: "qemu64",
          vga: "virtio",
          vnc_bind_address: "0.0.0.0",
        }),
        vncPort: 5907,
      }),
    );
    expect(get(argv.args, "-smp")).toEqual(["4,sockets=1,cores=2,threads=2"]);
    expect(get(argv.args, "-cpu")).toEqual(["qemu64"]);
    expect(get(argv.args, "-vga")).toEqual(["virtio"]);
    expect(get(argv.args, "-vnc")).toEqual(["0.0.0.0:7"]);
  });

  test("cpu_model defaults to host under KVM; under TCG to qemu64 with RDRAND (x86 only)", () => {
    expect(get(buildQemuArgv(inputs({ accelerator: "kvm" })).args, "-cpu")).toEqual(["host"]);
    expect(get(buildQemuArgv(inputs({ accelerator: "tcg" })).args, "-cpu")).toEqual(["qemu64,+rdrand"]);
    const arm = source({ qemu_binary: "qemu-system-aarch64" });
    expect(get(buildQemuArgv(inputs({ accelerator: "tcg", source: arm })).args, "-cpu")).toEqual([]);
  });

  test("display: none when headless, the chosen one with a window, nothing with use_default_display", () => {
    expect(get(buildQemuArgv(inputs({ window: true, source: source({ display: "gtk" }) })).args, "-display")).toEqual([
      "gtk",
    ]);
    expect(
      get(buildQemuArgv(inputs({ window: false, source: source({ use_default_display: true }) })).args, "-display"),
    ).toEqual([]);
  });

  test("qemuargs_append adds switches and replaces nothing, after qemuargs", () => {
    const argv = buildQemuArgv(
      inputs({
        userArgs: [["-m", "1024"]],
        appendArgs: [
          ["-device", "virtio-rng-pci"],
          ["-m", "2048"],
        ],
      }),
    );
    expect(argv.replaced).toEqual(["qemuargs -m replaces tsimg's default memory"]);
    expect(get(argv.args, "-device")).toEqual(["virtio-net,netdev=user.0", "virtio-rng-pci"]);
    expect(get(argv.args, "-m")).toEqual(["1024", "2048"]);
  });

  test("vtpm: swtpm's socket, an emulator backend and a tpm-tis device", () => {
    const argv = buildQemuArgv(inputs({ tpmSocket: "/tmp/w/swtpm.sock" }));
    expect(get(argv.args, "-chardev")).toEqual(["socket,id=chrtpm,path=/tmp/w/swtpm.sock"]);
    expect(get(argv.args, "-tpmdev")).toEqual(["emulator,id=tpm0,chardev=chrtpm"]);
    expect(get(argv.args, "-device")).toContain("tpm-tis,tpmdev=tpm0");
  });

  test("floppy_files: the floppy is drive A", () => {
    expect(get(buildQemuArgv(inputs({ floppyPath: "/tmp/w/floppy.img" })).args, "-drive")).toContain(
      "file=/tmp/w/floppy.img,if=floppy,index=0,format=raw",
    );
  });

  test("a -serial file: in qemuargs_append is followed too", () => {
    expect(buildQemuArgv(inputs({ appendArgs: [["-serial", "file:/tmp/s.log"]] })).serialPath).toBe("/tmp/s.log");
  });
});
