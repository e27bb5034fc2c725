// The accelerator probe: a real QEMU under TCG runs the probe firmware through protected
// and long mode (so the firmware works), and both outcomes of a KVM probe are covered.
// This machine's KVM hangs, so the "KVM works" branch uses a fake QEMU that exits the way
// QEMU does when the firmware ran (status 3).
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { probeAccelerator } from "../../src/qemu/accel.js";

function fakeQemu(script: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "tsimg-fake-qemu-")), "qemu-system-x86_64");
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe("probeAccelerator", () => {
  it("a real QEMU under TCG runs the probe firmware to the end", async () => {
    const result = await probeAccelerator("qemu-system-x86_64", "tcg");
    expect(result).toMatchObject({ ok: true, reason: "guest ran" });
  });

  it("KVM that works: QEMU exits with the firmware's status", async () => {
    const result = await probeAccelerator(fakeQemu("exit 3"), "kvm");
    expect(result).toMatchObject({ ok: true, reason: "guest ran" });
  });

  it("KVM that hangs: given up after 2 s, with the reason", async () => {
    const t0 = Date.now();
    const result = await probeAccelerator(fakeQemu("exec sleep 30"), "kvm");
    expect(result).toMatchObject({ ok: false, reason: "a test guest did not run within 2 s (it hangs)" });
    expect(Date.now() - t0).toBeLessThan(5000); // the 2 s limit, with slack for a loaded machine
  });

  it("KVM that QEMU refuses: QEMU's own last words are the reason", async () => {
    const result = await probeAccelerator(
      fakeQemu('echo "qemu-system-x86_64: failed to initialize kvm: No such file or directory" >&2; exit 1'),
      "kvm",
    );
    expect(result).toMatchObject({
      ok: false,
      reason: "QEMU said: qemu-system-x86_64: failed to initialize kvm: No such file or directory",
    });
  });

  it("the result is cached for the process", async () => {
    const binary = fakeQemu("exit 3");
    const first = probeAccelerator(binary, "kvm");
    expect(probeAccelerator(binary, "kvm")).toBe(first);
  });
});
