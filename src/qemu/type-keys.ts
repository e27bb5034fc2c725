// Types parsed boot_command actions into the guest through QMP. QEMU paces key events
// itself: every event a `send-key` queues is followed by `hold-time` ms in QEMU's input
// queue, and later send-keys wait behind it. So we hand QEMU the keys as fast as QMP
// takes them, and each arrives exactly once, in order, one event per interval, with no
// timer drift on our side. Packer instead sleeps 100 ms after every VNC key event.
import { sleep, throwIfAborted } from "../engine/abort.js";
import type { BootAction } from "./boot-command.js";
import type { QmpClient } from "./qmp.js";

export interface TypeOptions {
  /** Time QEMU leaves between key events (press or release): boot_key_interval. */
  intervalMs: number;
  signal: AbortSignal;
}

const qcode = (data: string) => ({ type: "qcode", data });
// QEMU treats hold-time 0 as "use the default" (10 ms), so 1 ms is the shortest pace.
const MIN_INTERVAL_MS = 1;

/** Sends every action and resolves once QEMU has delivered the last key event. */
export async function typeActions(qmp: QmpClient, actions: BootAction[], options: TypeOptions): Promise<void> {
  const interval = Math.max(MIN_INTERVAL_MS, Math.round(options.intervalMs));
  // When QEMU will have delivered everything queued so far.
  let queueEnd = Date.now();
  const drain = () => sleep(Math.max(0, queueEnd - Date.now()), options.signal);
  for (const action of actions) {
    throwIfAborted(options.signal);
    switch (action.kind) {
      case "press":
        await qmp.execute("send-key", { keys: action.qcodes.map(qcode), "hold-time": interval });
        // One press and one release per key, each followed by `interval`.
        queueEnd = Math.max(queueEnd, Date.now()) + 2 * action.qcodes.length * interval;
        break;
      case "down":
      case "up":
        // input-send-event does not queue behind send-key's delays: let the queue drain first.
        await drain();
        await qmp.execute("input-send-event", {
          events: [{ type: "key", data: { down: action.kind === "down", key: qcode(action.qcode) } }],
        });
        await sleep(interval, options.signal);
        queueEnd = Date.now();
        break;
      case "wait":
        await drain();
        await sleep(action.ms, options.signal);
        queueEnd = Date.now();
        break;
    }
  }
  await drain();
}
