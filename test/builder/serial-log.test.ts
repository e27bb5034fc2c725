// output_directory/serial.log is the guest console with secrets masked: QEMU writes the raw
// console into the private work dir, and the follower's lines go through the masking bus.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { writeSerialLog } from "../../src/builder/serial-log.js";
import { EventBus } from "../../src/core/event-bus.js";
import { Masker } from "../../src/core/masker.js";
import { SerialFollower } from "../../src/qemu/serial.js";

const dir = mkdtempSync(join(tmpdir(), "tsimg-serial-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a password the guest prints reaches serial.log as <sensitive>, in every form the masker knows", async () => {
  const masker = new Masker();
  masker.add("hunter2-root");
  const events = new EventBus("tinyos", masker);
  const raw = join(dir, "serial.raw");
  const copy = join(dir, "serial.log");
  writeFileSync(raw, "");
  const log = writeSerialLog(events, copy);
  const follower = new SerialFollower(raw, (line) => events.emit({ type: "serial", line }));
  follower.start();
  appendFileSync(raw, "anaconda: rootpw hunter2-root\r\n");
  appendFileSync(raw, `b64 ${Buffer.from("hunter2-root").toString("base64")}\nlast line without newline`);
  follower.stop();
  await log.close();
  expect(readFileSync(copy, "utf8")).toBe("anaconda: rootpw <sensitive>\nb64 <sensitive>\nlast line without newline\n");
  expect(readFileSync(raw, "utf8")).toContain("hunter2-root");
});
