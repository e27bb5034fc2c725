// Waits for the boot menu to draw before boot_command is typed. tsimg types a key in a few
// milliseconds, so with Packer's common `boot_wait = "0s"` it would type while the BIOS is
// still starting: the BIOS resets the keyboard and drops what was queued, and the rest lands
// in a menu that is not listening yet. (Packer gets away with it by sleeping 100 ms per key.)
// The console is read with QMP `screendump` (PPM, the one format every QEMU writes) until
// it shows something and has stopped changing: a menu waits for a key, a BIOS moves on.
import { readFile, rm } from "node:fs/promises";
import { sleep, withTimeout } from "../core/abort.js";
import type { QmpCommands } from "./type-keys.js";

export interface BootScreenOptions {
  /** Where QEMU writes each frame (the build's private work dir). */
  file: string;
  /** Give up after this long; typing then goes ahead. */
  timeoutMs: number;
  /** The screen must stay the same this long. */
  settleMs?: number;
  /** Time between two frames. */
  pollMs?: number;
  signal: AbortSignal;
}

export type BootScreenResult =
  | { settled: true; waitedMs: number }
  | { settled: false; waitedMs: number; reason: "timeout" | "no-screen"; detail?: string };

// Half a second: a text menu or vesamenu is still far longer than that; a countdown
// ("Automatic boot in 60 seconds") changes once a second, which leaves such windows.
const SETTLE_MS = 500;
const POLL_MS = 100;
const SCREENDUMP_LIMIT_MS = 5000;
// QEMU's "Guest has not initialized the display (yet)" covers 0.3% of the screen; the
// shortest BIOS banner about 2%.
const MIN_DRAWN = 0.01;

/** Resolves once the console shows something and has not changed for settleMs, or timeoutMs passed. */
export async function waitForBootScreen(qmp: QmpCommands, options: BootScreenOptions): Promise<BootScreenResult> {
  const settleMs = options.settleMs ?? SETTLE_MS;
  const pollMs = options.pollMs ?? POLL_MS;
  const start = Date.now();
  const waited = () => Date.now() - start;
  let previous: Buffer | undefined;
  let sameSince = 0;
  try {
    for (;;) {
      let frame: Buffer;
      try {
        frame = await grabFrame(qmp, options);
      } catch (error) {
        if (options.signal.aborted) throw error;
        // -vga none, or a QEMU that cannot dump this display: nothing to watch.
        return { settled: false, waitedMs: waited(), reason: "no-screen", detail: (error as Error).message };
      }
      const now = Date.now();
      if (!previous || !frame.equals(previous) || !isDrawn(frame)) sameSince = now;
      previous = frame;
      if (now - sameSince >= settleMs) return { settled: true, waitedMs: waited() };
      if (waited() >= options.timeoutMs) return { settled: false, waitedMs: waited(), reason: "timeout" };
      await sleep(pollMs, options.signal);
    }
  } finally {
    await rm(options.file, { force: true }).catch(() => undefined);
  }
}

async function grabFrame(qmp: QmpCommands, options: BootScreenOptions): Promise<Buffer> {
  await withTimeout(
    qmp.execute("screendump", { filename: options.file }),
    SCREENDUMP_LIMIT_MS,
    "screendump",
    options.signal,
  );
  return readFile(options.file);
}

/** True when at least MIN_DRAWN of a binary PPM's pixels differ from its top-left pixel (the background). */
export function isDrawn(ppm: Buffer): boolean {
  const pixels = ppmPixels(ppm);
  if (!pixels || pixels.length < 3) return false;
  const count = pixels.length / 3;
  let differing = 0;
  for (let i = 3; i < pixels.length; i += 3) {
    if (pixels[i] !== pixels[0] || pixels[i + 1] !== pixels[1] || pixels[i + 2] !== pixels[2]) differing++;
  }
  return differing / count >= MIN_DRAWN;
}

// "P6 <width> <height> <maxval>" and one whitespace byte, then the RGB bytes.
const PPM_HEADER = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/;

function ppmPixels(ppm: Buffer): Buffer | undefined {
  const match = PPM_HEADER.exec(ppm.subarray(0, 64).toString("latin1"));
  if (!match || match[3] !== "255") return undefined;
  return ppm.subarray(match[0].length, match[0].length + Number(match[1]) * Number(match[2]) * 3);
}
