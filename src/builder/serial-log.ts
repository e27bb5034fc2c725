// output_directory/serial.log: the guest's console as the build's events saw it, so with
// secrets masked (a kickstart that echoes a password must not leave it in an artifact
// folder). QEMU itself writes the raw console into the build's private work dir.
import { createWriteStream } from "node:fs";
import type { EventBus } from "../core/event-bus.js";

/** A masked copy of the serial console being written; `close()` flushes it. */
export interface SerialLog {
  close(): Promise<void>;
}

/** Appends every `serial` event's line (already masked by the bus) to `path`. */
export function writeSerialLog(events: EventBus, path: string): SerialLog {
  const out = createWriteStream(path, { flags: "a", mode: 0o644 });
  out.on("error", (error) => events.warn(`cannot write ${path}: ${error.message}`));
  const off = events.on((event) => {
    if (event.type === "serial") out.write(`${event.line}\n`);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        off();
        out.end(resolve);
      }),
  };
}
