// Types parsed boot_command actions into the guest through QMP. QEMU queues key events
// in order (a send-key's release waits for its hold time before later events run), so
// every key arrives exactly once and in order; the interval only paces the guest.
import { sleep } from "../engine/abort.js";
import type { BootAction } from "./boot-command.js";
import type { QmpClient } from "./qmp.js";

export interface TypeOptions {
  /** Pause after each key event. */
  intervalMs: number;
  signal: AbortSignal;
}

const qcode = (data: string) => ({ type: "qcode", data });

/** Sends every action; waits are honoured; rejects when the signal fires. */
export async function typeActions(qmp: QmpClient, actions: BootAction[], options: TypeOptions): Promise<void> {
  const holdMs = Math.max(1, Math.floor(options.intervalMs / 2));
  for (const action of actions) {
    switch (action.kind) {
      case "press":
        await qmp.execute("send-key", { keys: action.qcodes.map(qcode), "hold-time": holdMs });
        break;
      case "down":
      case "up":
        await qmp.execute("input-send-event", {
          events: [{ type: "key", data: { down: action.kind === "down", key: qcode(action.qcode) } }],
        });
        break;
      case "wait":
        await sleep(action.ms, options.signal);
        continue;
    }
    await sleep(options.intervalMs, options.signal);
  }
}
