// Finds out whether an accelerator can really run a guest. Opening /dev/kvm proves
// nothing: on some hosts it opens, real-mode code runs, and the guest hangs as soon
// as it enters protected mode. So we boot a 64 KiB "BIOS" (accel-probe.asm) that
// switches to protected and long mode and then writes to QEMU's isa-debug-exit port:
// only a guest that got through the mode switches can produce that exit status.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { access, constants } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TsimgError } from "../core/errors.js";
import { runProgram } from "../util/run-program.js";
import { findProgram } from "../util/which.js";

export interface AccelProbeResult {
  ok: boolean;
  /** Why it failed, in words for a log line. */
  reason: string;
  ms: number;
}

const PROBE_LIMIT_MS = 2000;
// isa-debug-exit turns a write of value v into QEMU exit status (v << 1) | 1.
const EXPECTED_EXIT = 3;
const cache = new Map<string, Promise<AccelProbeResult>>();

/**
 * Probes `accel` with `binary`; the result is cached for the life of the process. Rejects with
 * a TsimgError when `binary` cannot be started at all: that is a wrong qemu_binary, not a
 * broken KVM, and must not be reported (or fallen back from) as one.
 */
export function probeAccelerator(binary: string, accel: string): Promise<AccelProbeResult> {
  const key = `${binary}\0${accel}`;
  let result = cache.get(key);
  if (!result) {
    result = runProbe(binary, accel);
    cache.set(key, result);
  }
  return result;
}

// Machine code assembled from accel-probe.asm: the code at the start of the image and
// the reset-vector jump at 0xFFF0; everything else is `hlt`.
const PROBE_CODE =
  "fa31c08ed88ec0bf0010b9001831c0f3ab66c70600100320000066c70600200330000066c706003083000000" +
  "2e660f0116b8000f20c00c010f22c066ea43000f00080066b810008ed88ed0bc00700000b0023c0174310f20" +
  "e083c8200f22e0b8001000000f22d8b9800000c00f320d000100000f300f20c00d000000800f22c0ea8c000f" +
  "001800b001e6f4f4b001e6f4f4ebf990909090900000000000000000ffff0000009acf00ffff00000092cf00" +
  "ffff0000009aaf001f0098000f00";
const RESET_JUMP = "ea000000f0"; // jmp 0xF000:0000

/** The probe firmware image (64 KiB). */
export function probeFirmware(): Buffer {
  const image = Buffer.alloc(64 * 1024, 0xf4);
  Buffer.from(PROBE_CODE, "hex").copy(image, 0);
  Buffer.from(RESET_JUMP, "hex").copy(image, 0xfff0);
  return image;
}

async function runProbe(binary: string, accel: string): Promise<AccelProbeResult> {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-probe-"));
  const bios = join(dir, "probe.bin");
  writeFileSync(bios, probeFirmware());
  const t0 = Date.now();
  try {
    const result = await runProgram(
      binary,
      [
        "-accel",
        accel,
        "-machine",
        "pc",
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
        "-m",
        "16",
        "-bios",
        bios,
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
      ],
      { timeoutMs: PROBE_LIMIT_MS, killSignal: "SIGKILL" },
    );
    const ms = Date.now() - t0;
    if (result.notStarted) throw new TsimgError(cannotStart(binary, result.errorCode, result.problem));
    if (result.exitCode === EXPECTED_EXIT) return { ok: true, reason: "guest ran", ms };
    if (result.timedOut)
      return { ok: false, reason: `a test guest did not run within ${PROBE_LIMIT_MS / 1000} s (it hangs)`, ms };
    const said = result.stderr.trim().split("\n").filter(Boolean).pop();
    return { ok: false, reason: said ? `QEMU said: ${said}` : `QEMU exited with code ${result.exitCode}`, ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Throws the same "qemu_binary ... was not found" error as the probe when `binary` is not an
 * executable file: a build that skips the probe (accelerator = "tcg") must not get as far as
 * "QEMU exited with code 127".
 */
export async function assertQemuBinary(binary: string): Promise<void> {
  if (!binary.includes("/")) {
    if (!(await findProgram(binary))) throw new TsimgError(cannotStart(binary, "ENOENT", ""));
    return;
  }
  try {
    await access(binary, constants.X_OK);
  } catch (error) {
    throw new TsimgError(cannotStart(binary, (error as NodeJS.ErrnoException).code, (error as Error).message));
  }
}

/** "qemu_binary "qemu-x" is not installed (no such program on PATH)" and the like. */
function cannotStart(binary: string, code: string | undefined, problem: string): string {
  const where = binary.includes("/") ? "no such file" : "no such program on PATH";
  if (code === "ENOENT")
    return `qemu_binary "${binary}" was not found (${where}): install QEMU (Debian: qemu-system-x86) or fix qemu_binary`;
  if (code === "EACCES") return `qemu_binary "${binary}" cannot be run (permission denied): is it an executable file?`;
  return `qemu_binary "${binary}" cannot be run: ${problem}`;
}
