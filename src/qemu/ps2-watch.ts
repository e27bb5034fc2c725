// Sees the guest read the PS/2 keyboard, through QEMU's own trace events, so typing can wait
// for a slow guest instead of overflowing the keyboard's 16-byte queue (QEMU drops what does
// not fit, silently). QMP has no such event; QEMU's log backend writes
//   ps2_put_keycode 0x55d0c0 keycode 0x1c   a key event became a scancode byte in the queue
//   ps2_read_data 0x55d0c0                  the keyboard controller took a byte for the guest
//   ps2_kbd_reset 0x55d0c0                  the keyboard was reset, its queue emptied
// to a file named over QMP (HMP `logfile` and `log trace:...`); the controller takes the next
// byte only after the guest has read the previous one.
import { closeSync, openSync, readSync } from "node:fs";
import { sleep } from "../engine/abort.js";
import type { KeyboardGate, QmpCommands } from "./type-keys.js";

const EVENTS = "trace:ps2_put_keycode,trace:ps2_read_data,trace:ps2_kbd_reset";
const LINE = /(?:^|:)(ps2_put_keycode|ps2_read_data|ps2_kbd_reset) (0x[0-9a-f]+)(?: keycode 0x([0-9a-f]+))?/;
const POLL_MS = 2;

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
  return new TraceReader(logPath, () => hmp("log none").then(() => undefined));
}

// Counts, from the trace, bytes queued for the guest and bytes the controller took.
class TraceReader implements Ps2Watch {
  private fd: number | undefined;
  private offset = 0;
  private partial = "";
  private keyboard: string | undefined;
  private queued = 0;
  private taken = 0;

  constructor(
    private readonly path: string,
    private readonly turnOff: () => Promise<void>,
  ) {}

  async caughtUp(limitMs: number, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      this.read();
      if (this.taken >= this.queued) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS, signal);
    }
  }

  async stop(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    await this.turnOff().catch(() => undefined);
  }

  private read(): void {
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

  private count(line: string): void {
    const match = LINE.exec(line);
    if (!match) return;
    const [, event, device, keycode] = match;
    if (event === "ps2_put_keycode") {
      this.keyboard ??= device;
      // With translation on (BIOS and Linux both use it), the 0xf0 of a set-2 break code
      // merges into the byte after it, so it adds no byte for the guest.
      if (keycode !== "f0") this.queued++;
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
