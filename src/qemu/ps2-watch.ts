// Sees the guest take keys from the PS/2 keyboard, so typing can wait for a slow guest
// instead of overflowing a buffer: QEMU's PS/2 queue holds 16 bytes and drops the rest,
// silently. QMP has no event for this; QEMU's log trace backend writes
//   ps2_put_keycode 0x55d0c0 keycode 0x1c   a key event became a scancode byte in the queue
//   ps2_read_data 0x55d0c0                  the keyboard controller took a byte for the guest
//   ps2_kbd_reset 0x55d0c0                  the keyboard was reset, its queue emptied
// to a file named over QMP (HMP `logfile` and `log trace:...`); the controller takes the next
// byte only after the guest has read the previous one. A BIOS boot menu reads keys one step
// further on, from the BIOS's 15-key ring (bios-key-buffer.ts), which must have room too.
import { closeSync, openSync, readSync } from "node:fs";
import { sleep } from "../core/abort.js";
import { readBiosKeyBacklog } from "./bios-key-buffer.js";
import type { KeyboardGate, QmpCommands } from "./type-keys.js";

const EVENTS = "trace:ps2_put_keycode,trace:ps2_read_data,trace:ps2_kbd_reset";
const LINE = /(?:^|:)(ps2_put_keycode|ps2_read_data|ps2_kbd_reset) (0x[0-9a-f]+)(?: keycode 0x([0-9a-f]+))?/;
const POLL_MS = 2;
// How far typing may run ahead of the guest: inside the 16-byte queue, and queue plus ring
// inside the 15-key ring, with room to spare. Deep enough that a guest which reads in bursts
// (when the host schedules it) finds keys waiting: at 6 and 6 the Rocky command took 4.2 s
// on an idle host and 6.9 s under load; at 8 and 10, 2.5 s and 3.0 s (bench/typing.mjs).
const QUEUE_AHEAD = 8;
const RING_AHEAD = 10;

/** A running watch: a KeyboardGate, plus stop() to turn QEMU's tracing off again. */
export interface Ps2Watch extends KeyboardGate {
  stop(): Promise<void>;
}

/**
 * Turns on QEMU's PS/2 trace events into `logPath`. Undefined when this QEMU cannot (built
 * without the log trace backend); typing is then paced by boot_key_interval alone.
 */
export async function watchPs2Keyboard(qmp: QmpCommands, logPath: string): Promise<Ps2Watch | undefined> {
  const hmp = (line: string) => qmp.execute("human-monitor-command", { "command-line": line }) as Promise<string>;
  // HMP answers errors as text, not as QMP errors.
  const answers = [await hmp(`logfile ${logPath}`), await hmp(`log ${EVENTS}`)];
  if (answers.some((answer) => answer.trim() !== "")) return undefined;
  return new Ps2Gate(qmp, new TraceCounter(logPath), () => hmp("log none").then(() => undefined));
}

class Ps2Gate implements Ps2Watch {
  // Keys in the BIOS ring when last read, and key presses queued since: an upper bound on the
  // ring that saves reading guest memory before every key.
  private ring = 0;
  private pressesAtRingRead = 0;
  // Dropped when the ring is not a standard one, or stays full for a whole stall limit: the
  // guest has left the BIOS (Linux leaves stale keys in it) and only the PS/2 count tells.
  private watchRing = true;

  constructor(
    private readonly qmp: QmpCommands,
    private readonly trace: TraceCounter,
    private readonly turnOff: () => Promise<void>,
  ) {}

  async caughtUp(limitMs: number, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      this.trace.read();
      const queueOk = this.trace.queued - this.trace.taken <= QUEUE_AHEAD;
      if (queueOk && (await this.ringHasRoom())) return true;
      if (Date.now() >= deadline) {
        if (queueOk) this.watchRing = false;
        return false;
      }
      await sleep(POLL_MS, signal);
    }
  }

  async stop(): Promise<void> {
    this.trace.close();
    await this.turnOff().catch(() => undefined);
  }

  private async ringHasRoom(): Promise<boolean> {
    if (!this.watchRing) return true;
    if (this.ring + (this.trace.presses - this.pressesAtRingRead) <= RING_AHEAD) return true;
    const presses = this.trace.presses;
    const backlog = await readBiosKeyBacklog(this.qmp);
    if (backlog === undefined) {
      this.watchRing = false;
      return true;
    }
    this.ring = backlog;
    this.pressesAtRingRead = presses;
    return backlog + (this.trace.queued - this.trace.taken) <= RING_AHEAD;
  }
}

/** Counts, from the trace log, bytes queued for the guest, bytes the controller took, and key presses. */
class TraceCounter {
  queued = 0;
  taken = 0;
  presses = 0;
  private fd: number | undefined;
  private offset = 0;
  private partial = "";
  private keyboard: string | undefined;
  private afterPrefix = false;

  constructor(private readonly path: string) {}

  read(): void {
    this.fd ??= tryOpen(this.path);
    if (this.fd === undefined) return;
    const buffer = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(this.fd, buffer, 0, buffer.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      const lines = (this.partial + buffer.subarray(0, n).toString("latin1")).split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) this.count(line);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private count(line: string): void {
    const match = LINE.exec(line);
    if (!match) return;
    const [, event, device, keycode] = match;
    if (event === "ps2_put_keycode") {
      this.keyboard ??= device;
      // Set 2: a release is f0 <code>, an extended key e0 <code>. With translation on (BIOS and
      // Linux both use it) the f0 merges into the byte after it and adds no byte for the guest.
      if (keycode !== "f0") this.queued++;
      if (keycode !== "f0" && keycode !== "e0" && !this.afterPrefix) this.presses++;
      this.afterPrefix = keycode === "f0";
    } else if (event === "ps2_kbd_reset") {
      // A reset (system_reset, a guest reboot) empties the keyboard's queue.
      this.taken = this.queued;
    } else if (device === this.keyboard) {
      // Replies to the guest's keyboard commands (ACKs) are read too but never traced as
      // queued: a read with nothing of ours outstanding is one of those.
      this.taken = Math.min(this.taken + 1, this.queued);
    }
  }
}

function tryOpen(path: string): number | undefined {
  try {
    return openSync(path, "r");
  } catch {
    return undefined;
  }
}
