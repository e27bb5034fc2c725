// Issue 4, done-when 4: an EFI build boots the fixture under OVMF (Debian's ovmf package),
// TCG. The ISO's UEFI menu is systemd-boot ("e" edits the entry's options, <end> goes to the
// end of the line), the installer writes a GPT disk with an ESP, and the installed system
// boots from it on the reboot: SSH after the reboot proves the disk boots under UEFI.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { build, loadTemplate, type BuildEvent } from "../../src/index.js";
import { makeProject, requireFixture, waitNoQemu } from "./helpers.js";

describe("efi_boot", () => {
  beforeAll(requireFixture);

  it("installs and boots the fixture under OVMF, keeping the variable store beside the disk", async () => {
    const project = makeProject((t) =>
      t
        .replace('boot_wait = "1s"', 'boot_wait = "15s"\nefi_boot = true\nboot_screenshots = true')
        .replace('"<tab> inst.text console=ttyS0,115200n8 ",', '"e<end> inst.text console=ttyS0,115200n8 ",')
        .replace(
          'script = "tinyos/provisioner.sh"',
          'inline = ["echo firmware=$([ -d /sys/firmware/efi ] && echo uefi || echo bios)", "echo esp=$(grep -c vda1 /proc/partitions)"]',
        ),
    );
    const events: BuildEvent[] = [];
    const result = await build(loadTemplate(project.template), { onEvent: (e) => events.push(e) });
    const serial = events.flatMap((e) => (e.type === "serial" ? [e.line] : []));
    expect(result.error?.message, serial.slice(-30).join("\n")).toBeUndefined();
    const lines = events.flatMap((e) => (e.type === "output" ? [e.line] : []));
    expect(lines).toContain("firmware=uefi");
    expect(serial.some((l) => l.includes("installed systemd-boot on /dev/vda1"))).toBe(true);
    // Two boots: the installer from the CD, then the installed system from the disk.
    expect(serial.filter((l) => l.startsWith("TSIMG-MARK installer-started"))).toHaveLength(1);
    expect(serial.some((l) => l.startsWith("TSIMG-MARK sshd-listening"))).toBe(true);
    // boot_screenshots: one PNG of the console after each boot_command entry, the size of OVMF's screen.
    const shots = events.flatMap((e) => (e.type === "screenshot" ? [e.path] : []));
    expect(shots).toEqual([1, 2].map((n) => join(project.output, `boot-${n}.png`)));
    const sizes = shots
      .map((shot) => readFileSync(shot))
      .map((png) => [png.subarray(1, 4).toString(), png.readUInt32BE(16), png.readUInt32BE(20)]);
    // The first is systemd-boot's menu on OVMF's 1280x800 screen; the kernel may have switched modes by the second.
    expect(sizes[0]).toEqual(["PNG", 1280, 800]);
    expect(sizes[1]![0]).toBe("PNG");
    const vars = join(project.output, "efivars.fd");
    expect(existsSync(vars)).toBe(true);
    expect(statSync(vars).size).toBe(statSync("/usr/share/OVMF/OVMF_VARS_4M.fd").size);
    expect(await waitNoQemu(project.vmName)).toEqual([]);
  }, 600_000);
});
