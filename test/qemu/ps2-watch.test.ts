// The PS/2 gate's bookkeeping, fed a trace log as QEMU 7.2 writes it and a guest memory
// that answers HMP `xp`. The real thing runs in the typing bench and test/e2e/typing.test.ts.
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { readBiosKeyBacklog } from "../../src/qemu/bios-key-buffer.js";
import { watchPs2Keyboard } from "../../src/qemu/ps2-watch.js";

const dir = mkdtempSync(join(tmpdir(), "tsimg-ps2-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A QEMU monitor whose BIOS ring holds `ring.keys` keys; records HMP command lines. */
function fakeMonitor(ring = { keys: 0 }, answers: Record<string, string> = {}) {
  const lines: string[] = [];
  const qmp = {
    execute: async (_command: string, args?: Record<string, unknown>) => {
      const line = String(args?.["command-line"]);
      lines.push(line);
      if (line in answers) return answers[line];
      if (line === "xp /2hx 0x41a")
        return `000000000000041a: 0x001e 0x${(0x1e + 2 * ring.keys).toString(16).padStart(4, "0")}\r\n`;
      if (line === "xp /2hx 0x480") return "0000000000000480: 0x001e 0x003e\r\n";
      return "";
    },
  };
  return { qmp, lines };
}

const KBD = "0x55d0c0e2a180";
const put = (code: string) => `ps2_put_keycode ${KBD} keycode 0x${code}\n`;
const take = `ps2_read_data ${KBD}\n`;
const signal = new AbortController().signal;

describe("watchPs2Keyboard", () => {
  test("turns QEMU's trace on into the given file, and off again", async () => {
    const { qmp, lines } = fakeMonitor();
    const log = join(dir, "on-off.log");
    const watch = await watchPs2Keyboard(qmp, log);
    await watch?.stop();
    expect(lines).toEqual([
      `logfile ${log}`,
      "log trace:ps2_put_keycode,trace:ps2_read_data,trace:ps2_kbd_reset",
      "log none",
    ]);
  });

  test("is undefined when QEMU has no log trace backend", async () => {
    const { qmp } = fakeMonitor(
      { keys: 0 },
      {
        "log trace:ps2_put_keycode,trace:ps2_read_data,trace:ps2_kbd_reset":
          "Invalid parameter 'trace:ps2_put_keycode'\r\n",
      },
    );
    expect(await watchPs2Keyboard(qmp, join(dir, "none.log"))).toBeUndefined();
  });

  test("holds typing back while more than 8 bytes wait in the PS/2 queue, counting a release's f0 as no byte", async () => {
    const log = join(dir, "queue.log");
    const watch = (await watchPs2Keyboard(fakeMonitor().qmp, log))!;
    // 'a' three times (1c, then f0 1c: 2 bytes each) and an extended key (e0 75, then e0 f0 75: 4 bytes): 10 bytes.
    const tap = put("1c") + put("f0") + put("1c");
    appendFileSync(log, tap + tap + tap + put("e0") + put("75") + put("e0") + put("f0") + put("75"));
    expect(await watch.caughtUp(50, signal)).toBe(false);
    appendFileSync(log, take);
    expect(await watch.caughtUp(50, signal)).toBe(false);
    appendFileSync(log, take);
    expect(await watch.caughtUp(50, signal)).toBe(true);
  });

  test("an ACK the guest reads while nothing of ours waits does not count as taking a key", async () => {
    const log = join(dir, "ack.log");
    const watch = (await watchPs2Keyboard(fakeMonitor().qmp, log))!;
    appendFileSync(log, put("1c") + take + take + take + put("1c").repeat(9));
    expect(await watch.caughtUp(50, signal)).toBe(false);
  });

  test("a keyboard reset empties the queue", async () => {
    const log = join(dir, "reset.log");
    const watch = (await watchPs2Keyboard(fakeMonitor().qmp, log))!;
    appendFileSync(log, put("1c").repeat(10) + `ps2_kbd_reset ${KBD}\n`);
    expect(await watch.caughtUp(50, signal)).toBe(true);
  });

  test("holds typing back while more than 10 keys wait in the BIOS ring, and stops watching a ring that never drains", async () => {
    const log = join(dir, "ring.log");
    const ring = { keys: 11 };
    const { qmp, lines } = fakeMonitor(ring);
    const watch = (await watchPs2Keyboard(qmp, log))!;
    appendFileSync(log, (put("1c") + take + put("f0") + put("1c") + take).repeat(11));
    expect(await watch.caughtUp(50, signal)).toBe(false);
    expect(lines.filter((line) => line.startsWith("xp")).length).toBeGreaterThan(0);
    // Stuck for a whole limit: the guest has left the BIOS, so the ring no longer counts.
    expect(await watch.caughtUp(50, signal)).toBe(true);
  });

  test("reads guest memory only once the presses since the last read could have filled the ring", async () => {
    const log = join(dir, "lazy.log");
    const { qmp, lines } = fakeMonitor({ keys: 0 });
    const watch = (await watchPs2Keyboard(qmp, log))!;
    for (let i = 0; i < 10; i++) {
      appendFileSync(log, put("1c") + take + put("f0") + put("1c") + take);
      expect(await watch.caughtUp(50, signal)).toBe(true);
    }
    expect(lines.filter((line) => line.startsWith("xp"))).toEqual([]);
    appendFileSync(log, put("1c") + take);
    expect(await watch.caughtUp(50, signal)).toBe(true);
    expect(lines.filter((line) => line.startsWith("xp"))).toEqual(["xp /2hx 0x41a", "xp /2hx 0x480"]);
  });
});

describe("readBiosKeyBacklog", () => {
  test.each([
    ["an empty ring", "000000000000041a: 0x001e 0x001e\r\n", "0000000000000480: 0x001e 0x003e\r\n", 0],
    ["three keys", "000000000000041a: 0x0020 0x0026\r\n", "0000000000000480: 0x001e 0x003e\r\n", 3],
    ["a ring that wrapped", "000000000000041a: 0x003a 0x0022\r\n", "0000000000000480: 0x001e 0x003e\r\n", 4],
    [
      "a non-standard ring (not the BIOS's any more)",
      "000000000000041a: 0x001e 0x0022\r\n",
      "0000000000000480: 0x0000 0x0000\r\n",
      undefined,
    ],
    [
      "pointers outside the ring",
      "000000000000041a: 0x9999 0x0022\r\n",
      "0000000000000480: 0x001e 0x003e\r\n",
      undefined,
    ],
  ])("%s", async (_name, pointers, bounds, backlog) => {
    const qmp = {
      execute: async (_c: string, args?: Record<string, unknown>) =>
        String(args?.["command-line"]).endsWith("0x41a") ? pointers : bounds,
    };
    expect(await readBiosKeyBacklog(qmp)).toBe(backlog);
  });
});
