// Done-when 3 of the build issue: each fault fails the build with one clear message
// naming the cause, within its timeout, and leaves no QEMU process and no artifact.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { build, loadTemplate, type BuildEvent } from "../../src/index.js";
import { makeProject, qemuPids, requireFixture, runCli, waitNoQemu } from "./helpers.js";

// openssl passwd -6 -salt tsimgfaults tsimg-example: the example's root password, hashed.
const TSIMG_EXAMPLE_HASH =
  "$6$tsimgfaults$R.3qhEPwpnipStRfAcRsd8wwDiNI/oEvpPmqHJAhHnitErduAf/2GXSKyPiN2DENiuMnCQDZUk5tOYDcVW47T.";

async function buildProject(project: ReturnType<typeof makeProject>, onEvent?: (event: BuildEvent) => void) {
  const events: BuildEvent[] = [];
  const result = await build(loadTemplate(project.template), {
    onEvent: (event) => {
      events.push(event);
      onEvent?.(event);
    },
  });
  return { result, events };
}

async function expectCleanFailure(project: ReturnType<typeof makeProject>) {
  expect(await waitNoQemu(project.vmName)).toEqual([]);
  expect(existsSync(project.output)).toBe(false);
}

describe("build faults", () => {
  beforeAll(requireFixture);

  it("a kickstart URL that 404s fails at ssh_timeout and shows the installer's error", async () => {
    const project = makeProject((t) =>
      t.replace('"/ks/tinyos.ks" =', '"/ks/other.ks" =').replace('ssh_timeout = "10m"', 'ssh_timeout = "60s"'),
    );
    const { result, events } = await buildProject(project);
    expect(result.ok).toBe(false);
    expect(result.error?.message).toBe("timed out after 1m00s waiting for SSH (ssh_timeout)");
    expect(result.error?.details.join("\n")).toMatch(/cannot fetch kickstart http:\/\/10\.0\.2\.2:\d+\/ks\/tinyos\.ks/);
    expect(events.some((e) => e.type === "log" && /HTTP GET \/ks\/tinyos\.ks -> 404/.test(e.message))).toBe(true);
    // The console as it was when the build gave up, as a PNG beside the (removed) output.
    expect(result.screenshot).toBe(`${project.output}.failure.png`);
    expect(result.error?.details).toContain(`screenshot of the console: ${project.output}.failure.png`);
    const png = readFileSync(result.screenshot!);
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
    // VGA text mode, 80x25 cells of 9x16 pixels: the screen the installer's console is on.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([720, 400]);
    await expectCleanFailure(project);
  }, 300_000);

  it("a wrong SSH password fails after ssh_handshake_attempts", async () => {
    const project = makeProject((t) =>
      t.replace('ssh_password = "${var.root_password}"', 'ssh_password = "wrong-password"\nssh_handshake_attempts = 2'),
    );
    // A plaintext rootpw that differs is refused before the build starts (kickstart-password.test.ts);
    // hashed, tsimg cannot compare it, so the build runs and meets the wrong password at SSH.
    const kickstart = join(project.dir, "kickstart/tinyos.ks");
    writeFileSync(
      kickstart,
      readFileSync(kickstart, "utf8").replace(/^rootpw .*$/m, () => `rootpw --iscrypted ${TSIMG_EXAMPLE_HASH}`),
    );
    const { result } = await buildProject(project);
    expect(result.ok).toBe(false);
    expect(result.error?.message).toMatch(
      /^SSH login as "root" failed 2 times \(ssh_handshake_attempts\): authentication failed/,
    );
    // ssh_password is a secret even when wrong.
    expect(JSON.stringify(result.error)).not.toContain("wrong-password");
    await expectCleanFailure(project);
  }, 300_000);

  it("QEMU killed mid-install is noticed at once", async () => {
    const project = makeProject();
    let killedAt = 0;
    const { result } = await buildProject(project, (event) => {
      if (!killedAt && event.type === "serial" && event.line.includes("TSIMG-MARK kickstart-fetched")) {
        killedAt = Date.now();
        for (const pid of qemuPids(project.vmName)) process.kill(pid, "SIGKILL");
      }
    });
    expect(killedAt).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
    expect(result.error?.message).toBe("QEMU was killed by SIGKILL unexpectedly");
    expect(result.error?.details.join("\n")).toContain("tinyos-installer");
    await expectCleanFailure(project);
  }, 300_000);

  it("a provisioner script exiting 3 fails the build and names the script", async () => {
    const project = makeProject((t) =>
      t.replace('script = "tinyos/provisioner.sh"', 'inline = ["echo about to fail", "exit 3"]'),
    );
    const { result, events } = await buildProject(project);
    expect(result.ok).toBe(false);
    expect(result.error?.message).toBe("inline script exited with code 3 (valid_exit_codes: 0)");
    expect(events.some((e) => e.type === "output" && e.line === "about to fail")).toBe(true);
    await expectCleanFailure(project);
  }, 300_000);

  it("--on-error=abort keeps the output directory and the stopped VM's disk", async () => {
    const project = makeProject((t) => t.replace('script = "tinyos/provisioner.sh"', 'inline = ["exit 3"]'));
    const { code, output } = await runCli(["build", "--on-error=abort", project.template]).done;
    expect(code).toBe(1);
    expect(output).toContain("Error: inline script exited with code 3 (valid_exit_codes: 0)");
    expect(output).toContain(`--on-error=abort: keeping ${project.output} for inspection`);
    expect(await waitNoQemu(project.vmName)).toEqual([]);
    // The disk keeps its working name, so nothing looks like a finished artifact.
    expect(readdirSync(project.output).sort()).toEqual([`.${project.vmName}.building`, ".tsimg-output", "serial.log"]);
  }, 300_000);

  it("a missing ISO file is a template error before anything starts", async () => {
    const project = makeProject((t) => t.replace('iso_url = "../iso/tinyos.iso"', 'iso_url = "../iso/missing.iso"'));
    const { code, output } = await runCli(["build", project.template]).done;
    expect(code).toBe(2);
    expect(output).toMatch(/Error: .*images\/tinyos\.toml:\d+:1: iso_url: no such file .*iso\/missing\.iso/);
    expect(output).not.toMatch(/at .*\.js:\d+/); // no stack trace without --debug
    expect(existsSync(project.output)).toBe(false);
  });
});
