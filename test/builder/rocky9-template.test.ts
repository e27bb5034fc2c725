// The Rocky 9 template carried over from Packer: it validates, and the QEMU command line
// tsimg would run matches Packer's switch by switch (shared/reference/packer-seed-argv.md),
// apart from the differences docs/migrating-from-packer.md explains.
import { describe, expect, it } from "vitest";
import { previewQemuCommand } from "../../src/builder/inspect.js";
import { loadTemplate } from "../../src/builder/load-template.js";
import { PACKER_SEED_ARGV } from "./packer-seed-argv.js";

const TEMPLATE = new URL("../../images/rocky9.toml", import.meta.url).pathname;

const PACKER = PACKER_SEED_ARGV;

function pairs(args: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < args.length; i += 2) out.push([args[i] as string, args[i + 1] as string]);
  return out;
}

describe("images/rocky9.toml", () => {
  const plan = loadTemplate(TEMPLATE);
  const preview = previewQemuCommand(plan);
  const tsimg = pairs(preview.args);

  it("loads with every Packer setting carried over", () => {
    expect(plan.source.accelerator).toBe("kvm");
    expect(plan.source.qemu_binary).toBe("/usr/libexec/qemu-kvm");
    expect(plan.source.ssh_timeout).toBe(1500_000);
    expect(plan.source.shutdown_timeout).toBe(120 * 60_000);
    expect(plan.source.shutdown_command).toBe("/sbin/halt -h -p");
    expect(plan.source.disk_size).toBe(40960);
    expect(plan.source.boot_command.join("")).toBe(
      "<tab> inst.text console=ttyS0,115200n8 inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks/rocky9.ks nameserver=1.1.1.1 <enter><wait> ",
    );
    // As in the users' template: no wait, and no window.
    expect(plan.source.boot_wait).toBe(0);
    expect(plan.source.headless).toBe(true);
    expect(Object.keys(plan.source.http_content ?? {})).toEqual(["/ks/rocky9.ks"]);
    expect(plan.provisioners).toMatchObject([
      { type: "shell", script: expect.stringMatching(/packer\/rocky9\/provisioner\.sh$/) },
    ]);
    // Only the ISO is missing in a checkout: validate warns, build refuses to start.
    expect(plan.missingInputs.map((e) => e.key)).toEqual(["source.iso_url"]);
    expect(plan.secrets).toEqual(["xxxxx"]);
  });

  it("runs the same binary and the same switch set as Packer", () => {
    expect(preview.binary).toBe("/usr/libexec/qemu-kvm");
    expect([...new Set(tsimg.map(([flag]) => flag))].sort()).toEqual(
      // Differences: no -vnc (tsimg types through QMP); -qmp, and -display none for headless, are added.
      [...new Set(PACKER.map(([flag]) => flag).filter((f) => f !== "-vnc")), "-qmp", "-display"].sort(),
    );
  });

  it.each([
    ["-device", "virtio-net,netdev=user.0"],
    ["-machine", "type=pc,accel=kvm"],
    ["-m", "4096"],
    ["-cpu", "host"],
    ["-smp", "2,sockets=2,cores=1,threads=1"],
    ["-serial", "file:serial.out"],
    ["-boot", "once=d"],
  ])("%s %s is identical", (flag, value) => {
    expect(tsimg).toContainEqual([flag, value]);
  });

  it("differs only where the migration guide says", () => {
    const value = (flag: string) => tsimg.filter(([f]) => f === flag).map(([, v]) => v);
    // The forward binds loopback only; Packer's binds every interface.
    expect(value("-netdev")).toEqual([
      expect.stringMatching(/^user,id=user\.0,hostfwd=tcp:127\.0\.0\.1:<ssh-host-port>-:22$/),
    ]);
    // Same drive options; the disk is built under a working name in output-<image name>.
    expect(value("-drive")).toEqual([
      expect.stringMatching(
        /^file=.*\/output-rocky9\/\.rocky9\.qcow2\.building,if=virtio,cache=writeback,discard=ignore,format=qcow2$/,
      ),
      expect.stringMatching(/^file=.*\/iso\/Rocky-9\.2-x86_64-minimal\.iso,media=cdrom$/),
    ]);
    expect(value("-name")).toEqual(["rocky9.qcow2"]);
    expect(value("-qmp")).toEqual(["unix:<tmp>/qmp.sock,server=on,wait=off"]);
  });

  it("says which defaults the template's qemuargs replaced", () => {
    expect(preview.replaced).toEqual([
      "qemuargs -m replaces tsimg's default memory",
      "qemuargs -smp replaces tsimg's default CPU count",
      "qemuargs -cpu replaces tsimg's default CPU model",
      "qemuargs -serial replaces tsimg's default serial console capture",
    ]);
  });
});
