// Done-when 4 of the build issue: SIGINT or SIGTERM during a step stops the build
// within 5 s, kills QEMU and removes the partial output; kill -9 of tsimg leaves no QEMU.
import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, qemuPids, requireFixture, runCli, waitNoQemu } from "./helpers.js";

const cases = [
  {
    signal: "SIGINT",
    at: "Typing the boot command...",
    code: 130,
    patch: (t: string) => t.replace('boot_wait = "1s"', 'boot_wait = "30s"'),
  },
  { signal: "SIGTERM", at: "Waiting for SSH...", code: 143, patch: (t: string) => t },
  {
    signal: "SIGINT",
    at: "sleeping in the provisioner",
    code: 130,
    patch: (t: string) =>
      t.replace('script = "tinyos/provisioner.sh"', 'inline = ["echo sleeping in the provisioner", "sleep 120"]'),
  },
] as const;

describe("signals", () => {
  beforeAll(requireFixture);

  it.each(cases)(
    "$signal at '$at' stops within 5 s and leaves nothing behind",
    async ({ signal, at, code, patch }) => {
      const project = makeProject(patch);
      let sentAt = 0;
      const run = runCli(["build", project.template], {
        onLine: (line, child) => {
          if (!sentAt && line.includes(at)) {
            // Let the step get going (QEMU is up, the wait has begun).
            setTimeout(() => {
              sentAt = Date.now();
              child.kill(signal);
            }, 1500);
          }
        },
      });
      const { code: exitCode, output } = await run.done;
      const stoppedIn = Date.now() - sentAt;
      expect(sentAt, output).toBeGreaterThan(0);
      expect(stoppedIn).toBeLessThan(5000);
      expect(exitCode).toBe(code);
      expect(output).toContain(`interrupted by ${signal}`);
      expect(await waitNoQemu(project.vmName, 1000)).toEqual([]);
      expect(existsSync(project.output)).toBe(false);
    },
    300_000,
  );

  it("kill -9 of tsimg takes QEMU down with it", async () => {
    const project = makeProject();
    let killed = false;
    const run = runCli(["build", project.template], {
      onLine: (line, child) => {
        if (!killed && line.includes("Waiting for SSH...")) {
          killed = true;
          expect(qemuPids(project.vmName).length).toBe(1);
          child.kill("SIGKILL");
        }
      },
    });
    const { signal } = await run.done;
    expect(killed).toBe(true);
    expect(signal).toBe("SIGKILL");
    expect(await waitNoQemu(project.vmName, 3000)).toEqual([]);
  }, 300_000);
});
