import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { TsimgError } from "../../src/core/errors.js";
import { assertQemuBinary, probeAccelerator, probeFirmware } from "../../src/qemu/accel.js";

describe("probeFirmware", () => {
  const image = probeFirmware();

  test("is a 64 KiB BIOS image", () => {
    expect(image.length).toBe(65_536);
  });

  test("the reset vector at 0xFFF0 is a far jump to F000:0000", () => {
    // EA <offset lo> <offset hi> <segment lo> <segment hi>
    expect([...image.subarray(0xfff0, 0xfff5)]).toEqual([0xea, 0x00, 0x00, 0x00, 0xf0]);
  });

  test("the code at F000:0000 (the image's start) begins with cli", () => {
    expect(image[0]).toBe(0xfa);
  });

  test("the bytes after the reset jump and between the code and the jump are hlt", () => {
    expect([...image.subarray(0xfff5)].every((byte) => byte === 0xf4)).toBe(true);
    expect(image[0xffef]).toBe(0xf4);
    expect(image[0x8000]).toBe(0xf4);
  });

  test("every call returns its own copy", () => {
    const copy = probeFirmware();
    copy[0] = 0;
    expect(probeFirmware()[0]).toBe(0xfa);
  });
});

describe("probeAccelerator with a qemu_binary that cannot run", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-accel-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const missing: [string, string, string][] = [
    [
      "a missing path",
      join(dir, "qemu-system-x86_64"),
      `qemu_binary "${join(dir, "qemu-system-x86_64")}" was not found (no such file): install QEMU (Debian: qemu-system-x86) or fix qemu_binary`,
    ],
    [
      "a name not on PATH",
      "qemu-system-tsimg-none",
      'qemu_binary "qemu-system-tsimg-none" was not found (no such program on PATH): install QEMU (Debian: qemu-system-x86) or fix qemu_binary',
    ],
  ];

  // Not "KVM cannot run a guest": the host's KVM may be fine, and "auto" must not fall back to TCG with the same missing binary.
  test.each(missing)("rejects %s, saying it was not found", async (_, binary, message) => {
    const probing = probeAccelerator(binary, "kvm");
    await expect(probing).rejects.toBeInstanceOf(TsimgError);
    await expect(probing).rejects.toThrow(message);
  });

  // accelerator = "tcg" skips the probe: the start-qemu step checks the binary with assertQemuBinary instead.
  test.each(missing)("assertQemuBinary rejects %s with the probe's message", async (_, binary, message) => {
    await expect(assertQemuBinary(binary)).rejects.toThrow(message);
  });

  test("assertQemuBinary accepts an executable file and a program on PATH", async () => {
    await expect(assertQemuBinary("/bin/sh")).resolves.toBeUndefined();
    await expect(assertQemuBinary("sh")).resolves.toBeUndefined();
    const binary = join(dir, "not-executable-either");
    writeFileSync(binary, "");
    chmodSync(binary, 0o644);
    await expect(assertQemuBinary(binary)).rejects.toThrow(
      `qemu_binary "${binary}" cannot be run (permission denied): is it an executable file?`,
    );
  });

  test("rejects a file that is not executable, saying so", async () => {
    const binary = join(dir, "not-executable");
    writeFileSync(binary, "#!/bin/sh\nexit 3\n");
    chmodSync(binary, 0o644);
    await expect(probeAccelerator(binary, "kvm")).rejects.toThrow(
      `qemu_binary "${binary}" cannot be run (permission denied): is it an executable file?`,
    );
  });

  test("a program that runs but fails is a failed probe, with its last line of stderr", async () => {
    const binary = join(dir, "fake-qemu");
    writeFileSync(
      binary,
      "#!/bin/sh\necho 'Could not access KVM kernel module: No such file or directory' >&2\nexit 1\n",
    );
    chmodSync(binary, 0o755);
    await expect(probeAccelerator(binary, "kvm")).resolves.toMatchObject({
      ok: false,
      reason: "QEMU said: Could not access KVM kernel module: No such file or directory",
    });
  });
});
