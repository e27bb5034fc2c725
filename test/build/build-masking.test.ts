// A real build() whose QEMU is a script that prints the template's secrets on stderr and exits:
// the error's message and details (QEMU's last lines) and the events must all be masked.
// Only QEMU is fake; the steps before it are real.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { build } from "../../src/build/build.js";
import type { BuildEvent } from "../../src/core/events.js";
import { loadTemplate } from "../../src/builder/load-template.js";

const PASSWORD = "hunter2-ssh-pw";
const KEY_LINES = ["-----BEGIN TSIMG TEST KEY-----", "c2VjcmV0LWtleS1ib2R5", "-----END TSIMG TEST KEY-----"];

const dir = mkdtempSync(join(tmpdir(), "tsimg-build-masking-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A template whose qemu_binary prints both secrets (the key with CRLF endings) and fails. */
function plan(name: string) {
  const qemu = join(dir, `${name}-qemu`);
  writeFileSync(
    qemu,
    `#!/bin/sh\nprintf 'password ${PASSWORD} rejected\\n' >&2\nprintf '%s\\r\\n' ${KEY_LINES.map((l) => `'${l}'`).join(" ")} >&2\nexit 1\n`,
  );
  chmodSync(qemu, 0o755);
  writeFileSync(join(dir, "disk.iso"), "not really an ISO");
  const template = join(dir, `${name}.toml`);
  writeFileSync(
    template,
    `[variables.key]
sensitive = true
default = "${KEY_LINES.join("\\r\\n")}"

[source]
iso_url = "disk.iso"
iso_checksum = "none"
ssh_username = "root"
ssh_password = "${PASSWORD}"
accelerator = "tcg"
qemu_binary = "${qemu}"
disk_size = "16M"
output_directory = "${join(dir, `output-${name}`)}"
`,
  );
  return loadTemplate(template, { env: {} });
}

function leaks(text: string): string[] {
  return [PASSWORD, ...KEY_LINES].filter((secret) => text.includes(secret));
}

describe("build() masks secrets in the error it returns", () => {
  test("in the message, in every line of the details, and in the events", async () => {
    const events: BuildEvent[] = [];
    const result = await build(plan("plain"), { cacheDir: join(dir, "cache"), onEvent: (event) => events.push(event) });
    expect(result.ok).toBe(false);
    expect(result.error?.message).toBe("QEMU exited with code 1 unexpectedly");
    // The details must really hold QEMU's output (else nothing is being masked).
    expect(result.error?.details).toEqual([
      "QEMU said:",
      "  password <sensitive> rejected",
      "  <sensitive>",
      "  <sensitive>",
      "  <sensitive>",
    ]);
    expect(leaks(JSON.stringify(events))).toEqual([]);
  }, 30_000);
});
