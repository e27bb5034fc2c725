// The delivery queue between the intake and the handlers: a delivery on its own is handled
// at once; during a burst handling waits until the deliveries stop coming (intake first).
// Only setTimeout is faked, so a deferred handling shows as one that needs the clock moved.
import { afterEach, describe, expect, it, vi } from "vitest";
import { DeliveryQueue } from "../../src/serve/deliveries.js";
import type { Store } from "../../src/serve/store.js";

afterEach(() => void vi.useRealTimers());

function queue() {
  const handled: string[] = [];
  const store = { deliveryDone: () => undefined, deliveryFailed: () => 1, pendingDeliveries: () => [] };
  const deliveries = new DeliveryQueue({
    store: store as unknown as Store,
    now: Date.now,
    handle: async (key) => void handled.push(key),
    dispatch: (work) => void work(),
    onError: (e) => {
      throw e;
    },
  });
  return { deliveries, handled };
}

/** Lets setImmediate callbacks and promise continuations run (they are not faked). */
const turns = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe("DeliveryQueue", () => {
  it("handles a delivery on its own at once, without waiting for quiet", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const { deliveries, handled } = queue();
    deliveries.push("a", "note", "{}");
    await turns();
    expect(handled).toEqual(["a"]);
    vi.advanceTimersByTime(1_000);
    deliveries.push("b", "note", "{}");
    await turns();
    expect(handled).toEqual(["a", "b"]);
  });

  it("during a burst, the deliveries after the first wait until none has come for a while", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const { deliveries, handled } = queue();
    for (const key of ["a", "b", "c"]) deliveries.push(key, "note", "{}");
    await turns();
    expect(handled).toEqual(["a"]);
    vi.advanceTimersByTime(30);
    await turns();
    expect(handled).toEqual(["a", "b", "c"]);
  });
});
