// Typing into a real guest: the Rocky 9 boot command, without its <enter>, into the tinyos
// isolinux menu (which echoes the edit line on the serial console), through the whole
// build. The guest is never told to boot, so it never fetches its kickstart, and the build
// must fail after http_request_timeout naming the URL, not wait out ssh_timeout.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { build, loadTemplate, type BuildEvent } from "../../src/index.js";
import { makeProject, requireFixture, waitNoQemu } from "./helpers.js";

const TEXT =
  " inst.text console=ttyS0,115200n8 inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks/tinyos.ks nameserver=1.1.1.1 ";
// The isolinux edit line is drawn, then every typed character is echoed as itself.
const EDIT_LINE = "initrd=/isolinux/initrd.img\x1b[?25h";

describe("typing the boot command", () => {
  beforeAll(requireFixture);

  it("arrives exactly in isolinux, and a guest that then fetches nothing fails the build at http_request_timeout", async () => {
    let serial = "";
    const project = makeProject((t) => {
      serial = join(t.match(/output_directory = "(.*)"/)![1]!, "..", "serial.log");
      return t
        .replace(/boot_command = \[[^\]]*\]/, `boot_command = ["<tab>${TEXT}"]`)
        .replace(
          'ssh_timeout = "10m"',
          `ssh_timeout = "10m"\nhttp_request_timeout = "15s"\nboot_command_retries = 0\nqemuargs = [["-serial", "file:${serial}"]]`,
        );
    });
    const events: BuildEvent[] = [];
    const result = await build(loadTemplate(project.template), { onEvent: (event) => events.push(event) });
    const port = /HTTP server on http:\/\/127\.0\.0\.1:(\d+)/.exec(
      events.map((e) => ("message" in e ? e.message : "")).join("\n"),
    )?.[1];
    expect(result.ok).toBe(false);
    expect(result.error?.message).toBe(
      `the guest requested nothing from the HTTP server within 15.0s of typing boot_command (http_request_timeout); it was told to fetch http://10.0.2.2:${port}/ks/tinyos.ks: the boot command was mistyped, or the guest never fetched the kickstart`,
    );
    const screen = readFileSync(serial, "latin1");
    expect(screen.slice(screen.lastIndexOf(EDIT_LINE) + EDIT_LINE.length)).toBe(
      TEXT.replace("{{ .HTTPIP }}", "10.0.2.2").replace("{{ .HTTPPort }}", port!),
    );
    expect(
      events.filter((e) => e.type === "log" && e.level === "warn").map((e) => ("message" in e ? e.message : "")),
    ).toEqual([]);
    expect(await waitNoQemu(project.vmName)).toEqual([]);
  }, 180_000);
});
