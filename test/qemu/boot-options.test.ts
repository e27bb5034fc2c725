// Boot options a Packer template carries: boot_wait = "-1s" (Packer's documented "no
// wait"), disable_vnc (meaningless for tsimg, which types through QMP), and waits in
// boot_command that Packer refuses, which must fail validation with file, line and key.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ConfigErrors } from "../../src/core/errors.js";
import { loadTemplate } from "../../src/builder/load-template.js";

const dir = mkdtempSync(join(tmpdir(), "tsimg-boot-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "disk.iso"), "not really an ISO");

function load(extra: string) {
  const path = join(dir, "t.toml");
  writeFileSync(path, `[source]\niso_url = "disk.iso"\niso_checksum = "none"\nssh_username = "root"\n${extra}\n`);
  return loadTemplate(path);
}

function problems(extra: string): string[] {
  try {
    load(extra);
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    return error.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
  }
  throw new Error("the template loaded");
}

describe("boot options from Packer templates", () => {
  test.each([
    ['boot_wait = "-1s"', 0],
    ['boot_wait = " -10m "', 0],
    ['boot_wait = "0s"', 0],
    ['boot_wait = "2s"', 2000],
  ])("%s waits %d ms", (line, ms) => {
    expect(load(line).source.boot_wait).toBe(ms);
  });

  test("a negative duration is still refused where it means nothing, and a malformed one on boot_wait too", () => {
    expect(problems('shutdown_timeout = "-1s"\nboot_wait = "-1 s"')).toEqual([
      '5:1 shutdown_timeout: expected a duration like "30s", "5m" or "1h30m", got "-1s" (string)',
      '6:1 boot_wait: expected a duration like "30s", "5m" or "1h30m", got "-1 s" (string)',
    ]);
  });

  test("disable_vnc is accepted and changes nothing", () => {
    expect(load("disable_vnc = true").source.disable_vnc).toBe(true);
  });

  test("http_request_timeout and boot_command_retries have defaults: 5 minutes, one retry", () => {
    const { source } = load("");
    expect([source.http_request_timeout, source.boot_command_retries]).toEqual([300_000, 1]);
  });

  test.each([
    ["<wait99999999999999999999>", "longer than the longest wait Packer accepts, 2562047h47m16s (292 years)"],
    ["<wait3000000h>", "longer than the longest wait Packer accepts, 2562047h47m16s (292 years)"],
  ])("boot_command %s fails validation at its line", (wait, why) => {
    expect(problems(`boot_command = ["<tab> ks=x", "${wait}"]`)).toEqual([
      `5:1 boot_command: invalid wait "${wait}" at character 1 of boot_command[1]; ${why}`,
    ]);
  });
});
