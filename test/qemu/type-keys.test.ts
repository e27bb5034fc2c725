// typeActions against a fake QEMU keyboard that behaves as QEMU's input layer does: a
// `send-key` queues its events behind hold-time timers, which on a loaded host fire late
// (here: five times late), while `input-send-event` reaches the keyboard at once. What the
// keyboard finally receives must be exactly what the boot command says, in order.
import { describe, expect, test } from "vitest";
import { CancelledError } from "../../src/core/errors.js";
import { parseBootCommand } from "../../src/qemu/boot-command.js";
import { typeActions, type KeyboardGate, type QmpCommands } from "../../src/qemu/type-keys.js";

type Args = Record<string, unknown>;
interface KeyArg {
  type: string;
  data: string;
}

/** QEMU's keyboard path (ui/input.c), with timers that run `lateness` times slower than asked. */
class FakeQemuKeyboard implements QmpCommands {
  readonly commands: string[] = [];
  /** What the guest's keyboard device received, as "a down", "a up". */
  readonly received: string[] = [];
  private queue: ({ key: string; down: boolean } | { delayMs: number })[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly lateness = 5) {}

  async execute(command: string, args: Args = {}): Promise<unknown> {
    this.commands.push(command);
    if (command === "send-key") {
      const keys = (args.keys as KeyArg[]).map((k) => k.data);
      const hold = (args["hold-time"] as number | undefined) ?? 100;
      for (const key of keys) this.sendKey(key, true, hold);
      for (const key of [...keys].reverse()) this.sendKey(key, false, hold);
    } else if (command === "input-send-event") {
      for (const event of args.events as { data: { down: boolean; key: KeyArg } }[])
        this.deliver(event.data.key.data, event.data.down);
    } else {
      throw new Error(`fake QEMU: unexpected command ${command}`);
    }
    return {};
  }

  /** Resolves once every queued event has been delivered. */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.timer) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  // qemu_input_event_send_key: straight through when nothing is queued, else behind the queue.
  private sendKey(key: string, down: boolean, hold: number): void {
    if (this.queue.length === 0 && !this.timer) this.deliver(key, down);
    else this.queue.push({ key, down });
    this.queue.push({ delayMs: hold });
    this.run();
  }

  private run(): void {
    if (this.timer) return;
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      if ("delayMs" in item) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.queue.shift();
          this.run();
        }, item.delayMs * this.lateness);
        return;
      }
      this.queue.shift();
      this.deliver(item.key, item.down);
    }
  }

  private deliver(key: string, down: boolean): void {
    this.received.push(`${key} ${down ? "down" : "up"}`);
  }
}

const signal = () => new AbortController().signal;

async function typeInto(command: string, options: { gate?: KeyboardGate } = {}) {
  const keyboard = new FakeQemuKeyboard();
  await typeActions(keyboard, parseBootCommand(command), { intervalMs: 1, signal: signal(), ...options });
  await keyboard.idle();
  return keyboard;
}

describe("typeActions", () => {
  test("a held key never overtakes the taps typed before it, nor do later taps overtake its release", async () => {
    const keyboard = await typeInto("ab<leftAltOn><f2><leftAltOff>cD");
    expect(keyboard.received).toEqual([
      "a down",
      "a up",
      "b down",
      "b up",
      "alt down",
      "f2 down",
      "f2 up",
      "alt up",
      "c down",
      "c up",
      "shift down",
      "d down",
      "d up",
      "shift up",
    ]);
  });

  test("the Rocky 9 boot command arrives exactly, one key event per QMP command", async () => {
    const keyboard = await typeInto("<tab> ks=http://10.0.2.2:8123/ks/Rocky9.ks<enter>");
    const letters = keyboard.received.filter((event) => event.endsWith(" down")).map((event) => event.slice(0, -5));
    expect(letters.join(" ")).toBe(
      "tab spc k s equal h t t p shift semicolon slash slash 1 0 dot 0 dot 2 dot 2 shift semicolon 8 1 2 3 slash k s slash shift r o c k y 9 dot k s ret",
    );
    expect(keyboard.commands).toHaveLength(keyboard.received.length);
  });

  test("waits hold the keys after them back until the keys before them are in", async () => {
    const keyboard = await typeInto("a<wait10ms>b");
    expect(keyboard.received).toEqual(["a down", "a up", "b down", "b up"]);
  });

  test("with a gate, each key event waits until the guest has read the ones before it", async () => {
    const log: string[] = [];
    let reads = 0;
    const keyboard = new FakeQemuKeyboard();
    const gate: KeyboardGate = {
      // The guest reads one more event per check: typing must ask before every event.
      caughtUp: async () => {
        log.push(`check after ${keyboard.received.length} (guest read ${reads})`);
        reads = keyboard.received.length;
        return true;
      },
    };
    await typeActions(keyboard, parseBootCommand("ab"), { intervalMs: 0, signal: signal(), gate });
    expect(log).toEqual([
      "check after 0 (guest read 0)",
      "check after 1 (guest read 0)",
      "check after 2 (guest read 1)",
      "check after 3 (guest read 2)",
    ]);
  });

  test("a guest that stops reading is reported, and typing goes on", async () => {
    const stalls: string[] = [];
    const keyboard = new FakeQemuKeyboard();
    const gate: KeyboardGate = { caughtUp: async () => keyboard.received.length === 0 };
    await typeActions(keyboard, parseBootCommand("a<enter>"), {
      intervalMs: 0,
      signal: signal(),
      gate,
      stallLimitMs: 3000,
      onStall: (m) => stalls.push(m),
    });
    expect(keyboard.received).toEqual(["a down", "a up", "ret down", "ret up"]);
    expect(stalls).toEqual([
      "the guest left key events unread for 3 s; typing on, so keys may be lost (next: a up)",
      "the guest left key events unread for 3 s; typing on, so keys may be lost (next: ret down)",
      "the guest left key events unread for 3 s; typing on, so keys may be lost (next: ret up)",
    ]);
  });

  test("a wait longer than a Node timer holds (<wait800h>, past 24.8 days) really waits", async () => {
    const build = new AbortController();
    const keyboard = new FakeQemuKeyboard();
    const typing = typeActions(keyboard, parseBootCommand("a<wait800h>b"), {
      intervalMs: 0,
      signal: build.signal,
    }).catch(() => undefined);
    // "a" is typed at once (wait for it, however slow the machine), then nothing for 200 ms.
    for (const deadline = Date.now() + 10_000; keyboard.received.length < 2 && Date.now() < deadline;)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(keyboard.received).toEqual(["a down", "a up"]);
    build.abort();
    await typing;
  });

  test("a cancelled build stops typing before the next key", async () => {
    const build = new AbortController();
    const keyboard = new FakeQemuKeyboard();
    const typing = typeActions(keyboard, parseBootCommand("abc<wait1h>d"), { intervalMs: 0, signal: build.signal });
    while (keyboard.received.length < 6) await new Promise((resolve) => setTimeout(resolve, 1));
    build.abort();
    await expect(typing).rejects.toThrow(new CancelledError("build cancelled"));
    expect(keyboard.received).toHaveLength(6);
  });
});
