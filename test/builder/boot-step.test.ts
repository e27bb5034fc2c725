// The boot-command step's http_request_timeout: a guest told to fetch its kickstart that
// requests nothing is stuck, and the build must say so (or retype) instead of waiting out a
// 25-minute ssh_timeout. The HTTP server is real and the "guest" is this test fetching from
// it; QEMU is a fake that records the QMP commands it gets.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { findServerUrl, typeBootCommand } from "../../src/builder/steps/boot.js";
import { EventBus } from "../../src/core/event-bus.js";
import { Masker } from "../../src/core/masker.js";
import { startHttpServer, type RunningHttpServer } from "../../src/http/server.js";
import type { BuildPlan } from "../../src/builder/plan.js";
import { stepContext } from "./step-context.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  bootCommand: string[];
  retries?: number;
  timeoutMs?: number;
  /** Called with each QMP command; a fake guest can react (fetch its kickstart). */
  onCommand?: (command: string, http: RunningHttpServer) => void;
}

async function runBootStep(setup: Setup) {
  const output = mkdtempSync(join(tmpdir(), "tsimg-boot-"));
  cleanups.push(() => rmSync(output, { recursive: true, force: true }));
  const http = await startHttpServer({
    host: "127.0.0.1",
    portMin: 8000,
    portMax: 9000,
    content: { "/ks/rocky9.ks": "text" },
  });
  cleanups.push(() => http.close());
  const commands: string[] = [];
  const qmp = {
    execute: async (command: string) => {
      if (command !== "input-send-event") commands.push(command);
      setup.onCommand?.(command, http);
      return {};
    },
  };
  const source = {
    vm_name: "rocky9",
    output_directory: output,
    boot_wait: 0,
    boot_key_interval: 0,
    boot_screenshots: false,
    boot_command: setup.bootCommand,
    boot_command_retries: setup.retries ?? 0,
    http_request_timeout: setup.timeoutMs ?? 300,
  };
  // No work dir: typing is paced by boot_key_interval alone (no PS/2 trace to read).
  const input = { http, qmp } as unknown as Parameters<typeof typeBootCommand.run>[1];
  const messages: string[] = [];
  const events = new EventBus("rocky9", new Masker());
  events.on((e) => e.type === "log" && e.level !== "debug" && messages.push(`${e.level}: ${e.message}`));
  const error = await typeBootCommand
    .run(stepContext({ source } as unknown as BuildPlan, { events }), input, undefined)
    .then(
      () => undefined,
      (e: Error) => e,
    );
  return { error, commands, messages, port: http.port, output };
}

const ROCKY = ["<tab> inst.text ", "inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks/rocky9.ks ", "<enter><wait10ms> "];

describe("boot-command step: http_request_timeout", () => {
  test("a guest that never fetches its kickstart fails the build with the URL it was told", async () => {
    const { error, commands, port } = await runBootStep({ bootCommand: ROCKY });
    expect(error?.message).toBe(
      `the guest requested nothing from the HTTP server within 300ms of typing boot_command (http_request_timeout); it was told to fetch http://10.0.2.2:${port}/ks/rocky9.ks: the boot command was mistyped, or the guest never fetched the kickstart`,
    );
    // The screen goes with the failure, as for every failed build (start-qemu's cleanup).
    expect(commands).toEqual([]);
  });

  test("with boot_command_retries, a screenshot is kept, the VM is reset and the command typed again before failing", async () => {
    const { error, commands, messages, port, output } = await runBootStep({ bootCommand: ROCKY, retries: 1 });
    expect(error?.message).toMatch(/^the guest requested nothing from the HTTP server/);
    expect(commands).toEqual(["screendump", "system_reset"]);
    expect(messages.filter((m) => m.startsWith("warn:"))).toEqual([
      `warn: the guest requested nothing from the HTTP server within 300ms of typing boot_command (http_request_timeout); it was told to fetch http://10.0.2.2:${port}/ks/rocky9.ks; resetting the VM and typing it again (retry 1 of 1, boot_command_retries; the screen was ${output}.boot-timeout-1.png)`,
    ]);
  });

  test("a guest that fetches after the retry's reset lets the build go on", async () => {
    const { error, commands } = await runBootStep({
      bootCommand: ROCKY,
      retries: 2,
      onCommand: (command, http) =>
        void (command === "system_reset" && fetch(`http://127.0.0.1:${http.port}/ks/rocky9.ks`)),
    });
    expect(error).toBeUndefined();
    expect(commands).toEqual(["screendump", "system_reset"]);
  });

  test("a guest that fetches its kickstart ends the wait at once", async () => {
    let fetched = false;
    const { error, commands } = await runBootStep({
      bootCommand: ROCKY,
      timeoutMs: 60 * 60_000,
      onCommand: (_command, http) => {
        if (!fetched) void fetch(`http://127.0.0.1:${http.port}/ks/rocky9.ks`);
        fetched = true;
      },
    });
    expect(error).toBeUndefined();
    expect(commands).toEqual([]);
  });

  test("a boot command that does not name the HTTP server is not watched", async () => {
    const { error, commands } = await runBootStep({ bootCommand: ["<tab> inst.text<enter>"] });
    expect(error).toBeUndefined();
    expect(commands).toEqual([]);
  });
});

describe("findServerUrl", () => {
  test.each<[string, string | undefined]>([
    ["<tab> inst.ks=http://10.0.2.2:8123/ks/rocky9.ks nameserver=1.1.1.1 <enter>", "http://10.0.2.2:8123/ks/rocky9.ks"],
    ["ks=https://10.0.2.2:8123/a.cfg<enter>", "https://10.0.2.2:8123/a.cfg"],
    ["url=10.0.2.2:8123/preseed.cfg<enter>", "http://10.0.2.2:8123/preseed.cfg"],
    ["ds=nocloud-net;s=http://10.0.2.2:8123/<enter>", "http://10.0.2.2:8123/"],
    ["inst.ks=http://10.0.2.2:81234/ks<enter>", undefined],
    ["inst.ks=cdrom:/ks.cfg<enter>", undefined],
  ])("%s", (typed, url) => {
    expect(findServerUrl(typed, 8123)).toBe(url);
  });
});
