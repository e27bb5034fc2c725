// Types parsed boot_command actions into the guest through QMP. Every key event is its own
// `input-send-event`, sent only after QEMU answered the previous one, so events reach the
// keyboard device strictly in order. (QMP `send-key` queues its events behind timers inside
// QEMU while `input-send-event` is delivered at once, so mixing them, as tsimg once did for
// <leftAltOn>, let a hold overtake taps still queued on a loaded host.)
//
// Pace: at least `intervalMs` between events, and, when QEMU can report it (ps2-watch.ts),
// never more than a few keys ahead of what the guest has taken. The PS/2 keyboard holds 16
// bytes and a BIOS menu's key ring 15 keys, and both drop the rest: at a fixed pace, a guest
// that is busy (isolinux redrawing its edit line) or that a loaded host does not schedule for
// ~100 ms lost keys. Packer instead sleeps 100 ms after every VNC key event.
import { sleep, throwIfAborted } from "../core/abort.js";
import type { BootAction } from "./boot-command.js";

/** What typing needs of QMP: a QmpClient (tests pass a recording fake). */
export interface QmpCommands {
  execute(command: string, args?: Record<string, unknown>): Promise<unknown>;
}

/** Knows whether the guest has read the key events sent so far (ps2-watch.ts). */
export interface KeyboardGate {
  /** Resolves true once the guest has taken enough of what was sent for one more event, false if not after `limitMs`. */
  caughtUp(limitMs: number, signal: AbortSignal): Promise<boolean>;
}

export interface TypeOptions {
  /** Least time between two key events (press or release), from when QEMU took the first: boot_key_interval. */
  intervalMs: number;
  signal: AbortSignal;
  /** Paces by the guest's reads; without it, only intervalMs paces. */
  gate?: KeyboardGate;
  /** How long the guest may leave keys unread before typing goes on with a warning. */
  stallLimitMs?: number;
  /** Told when the guest left keys unread for stallLimitMs (they may be lost). */
  onStall?: (message: string) => void;
}

/** One key going down or up, or a pause. */
export type KeyStep = { kind: "key"; qcode: string; down: boolean } | { kind: "wait"; ms: number };

const DEFAULT_STALL_LIMIT_MS = 5000;

/** Sends every action in order, each key event once, paced as described above. */
export async function typeActions(qmp: QmpCommands, actions: BootAction[], options: TypeOptions): Promise<void> {
  const { signal, gate } = options;
  const limit = options.stallLimitMs ?? DEFAULT_STALL_LIMIT_MS;
  // The interval runs while we wait for the guest, so a slow guest does not pay it twice.
  let nextAt = 0;
  for (const step of toKeySteps(actions)) {
    throwIfAborted(signal);
    if (step.kind === "wait") {
      await sleep(step.ms, signal);
      continue;
    }
    if (gate && !(await gate.caughtUp(limit, signal))) {
      options.onStall?.(
        `the guest left key events unread for ${limit / 1000} s; typing on, so keys may be lost (next: ${step.qcode} ${step.down ? "down" : "up"})`,
      );
    }
    await sleep(Math.max(0, nextAt - Date.now()), signal);
    await qmp.execute("input-send-event", {
      events: [{ type: "key", data: { down: step.down, key: { type: "qcode", data: step.qcode } } }],
    });
    nextAt = Date.now() + options.intervalMs;
  }
}

/** A tap presses its keys in order (modifiers first) and releases them in reverse. */
export function toKeySteps(actions: BootAction[]): KeyStep[] {
  const steps: KeyStep[] = [];
  for (const action of actions) {
    switch (action.kind) {
      case "press":
        for (const qcode of action.qcodes) steps.push({ kind: "key", qcode, down: true });
        for (const qcode of [...action.qcodes].reverse()) steps.push({ kind: "key", qcode, down: false });
        break;
      case "down":
      case "up":
        steps.push({ kind: "key", qcode: action.qcode, down: action.kind === "down" });
        break;
      case "wait":
        steps.push(action);
        break;
    }
  }
  return steps;
}
