import { describe, expect, test } from "vitest";
import { EventBus } from "../../src/core/event-bus.js";
import type { BuildEvent } from "../../src/core/events.js";
import { Masker } from "../../src/core/masker.js";

function masker(...secrets: string[]): Masker {
  const m = new Masker();
  for (const secret of secrets) m.add(secret);
  return m;
}

describe("EventBus", () => {
  function bus(...secrets: string[]) {
    const events: BuildEvent[] = [];
    const eventBus = new EventBus("rocky9", masker(...secrets));
    eventBus.on((event) => events.push(event));
    return { eventBus, events };
  }

  test("masks secrets in every string field of an event", () => {
    const { eventBus, events } = bus("s3cret-pw");
    eventBus.emit({ type: "output", source: "shell s3cret-pw", stream: "stdout", line: "echo s3cret-pw" });
    expect(events).toEqual([
      {
        type: "output",
        source: "shell <sensitive>",
        stream: "stdout",
        line: "echo <sensitive>",
        build: "rocky9",
        time: expect.any(Number),
      },
    ]);
  });

  test("masks secrets in string arrays", () => {
    const { eventBus, events } = bus("s3cret-pw");
    eventBus.emit({ type: "artifact", files: ["/out/s3cret-pw.qcow2", "/out/plain.qcow2"], id: "s3cret-pw" });
    expect(events[0]).toMatchObject({ files: ["/out/<sensitive>.qcow2", "/out/plain.qcow2"], id: "<sensitive>" });
  });

  test("masks secrets in nested tables (an artifact's checksums) and in optional fields", () => {
    const { eventBus, events } = bus("s3cret-pw");
    eventBus.emit({
      type: "artifact",
      files: [],
      id: "x",
      location: "https://u:s3cret-pw@host/x",
      checksums: { sha256: "s3cret-pw" },
    });
    expect(events[0]).toMatchObject({ location: "https://u:<sensitive>@host/x", checksums: { sha256: "<sensitive>" } });
    expect(JSON.stringify(events)).not.toContain("s3cret-pw");
  });

  test("log helpers emit log events with their level, masked", () => {
    const { eventBus, events } = bus("s3cret-pw");
    eventBus.info("i s3cret-pw");
    eventBus.warn("w");
    eventBus.debug("d");
    eventBus.log("error", "e");
    expect(events.map((e) => (e.type === "log" ? `${e.level}: ${e.message}` : e.type))).toEqual([
      "info: i <sensitive>",
      "warn: w",
      "debug: d",
      "error: e",
    ]);
  });

  test("stamps events with the build name and the time", () => {
    const { eventBus, events } = bus();
    const before = Date.now();
    eventBus.emit({ type: "build-start" });
    expect(events[0]?.build).toBe("rocky9");
    expect(events[0]?.time).toBeGreaterThanOrEqual(before);
    expect(events[0]?.time).toBeLessThanOrEqual(Date.now());
  });

  test("a listener that throws does not stop the others; a removed listener gets nothing", () => {
    const { eventBus, events } = bus();
    const removedGot: BuildEvent[] = [];
    eventBus.on(() => {
      throw new Error("broken consumer");
    });
    const remove = eventBus.on((event) => removedGot.push(event));
    const later: BuildEvent[] = [];
    eventBus.on((event) => later.push(event));
    remove();
    eventBus.emit({ type: "build-start" });
    expect(events).toHaveLength(1);
    expect(later).toHaveLength(1);
    expect(removedGot).toEqual([]);
  });
});
