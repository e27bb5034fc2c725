// Done-when 1 and 2 of the build issue: the bundled example builds through the CLI,
// end to end (ISO, boot_command, kickstart over HTTP, install, reboot, SSH, file and
// shell provisioners, shutdown, compaction), and the artifact boots alone.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, requireFixture, runCli, waitNoQemu } from "./helpers.js";

describe("tsimg build images/tinyos.toml", () => {
  beforeAll(requireFixture);

  it("produces a qcow2 that boots on its own and holds what the provisioners wrote", async () => {
    // The boot test (issue 15) boots the compacted artifact alone and runs these checks in it.
    const project = makeProject(
      (t) =>
        `${t}
[[test]]
name = "the provisioners' files are there"
inline = ["cat /etc/tsimg-provisioned /etc/motd /etc/tsimg-install-stamp"]
expect_regex = '^version=1\\.0\\.0$'
expect_output = "Welcome to tinyos, built by tsimg."
`,
    );
    const { code, output } = await runCli(["build", project.template]).done;
    expect(output, output).toContain(`Build 'tinyos' finished`);
    expect(code).toBe(0);

    // The step lines, Packer-style, with the kickstart served over HTTP and logged.
    expect(output).toMatch(/\d\d:\d\d:\d\d ==> tinyos: Waiting for SSH\.\.\./);
    expect(output).toMatch(/HTTP GET \/ks\/tinyos\.ks -> 200/);
    expect(output).toContain("provisioning tinyos 1.0.0");
    expect(output).toContain("steps: fetch-iso");
    // The password never reaches the console.
    expect(output).not.toContain("tsimg-example");

    // The boot test ran on the compacted artifact, on its own: no ISO, no boot command, no HTTP.
    const steps = output.split("\n").find((l) => l.includes("steps: fetch-iso"))!;
    expect(steps.indexOf("compact")).toBeLessThan(steps.indexOf("boot-test"));
    expect(output).toMatch(/booting .*\.qcow2 on a throwaway overlay; logging in with the template's ssh_password/);
    expect(output).toContain('boot test: passed "root file system is mounted read-write"');
    expect(output).toContain('boot test: passed "the provisioners\' files are there"');
    expect(output).toContain("installed by kickstart");

    // Only the finished artifact, its SBOM, the serial log and tsimg's marker: no working names left behind.
    const sbom = project.vmName.replace(/\.qcow2$/, ".cdx.json");
    expect(readdirSync(project.output).sort()).toEqual([project.vmName, sbom, "serial.log", ".tsimg-output"].sort());
    const artifact = join(project.output, project.vmName);
    expect(statSync(artifact).size).toBeGreaterThan(1024 * 1024);
    expect(await waitNoQemu(project.vmName)).toEqual([]);

    // The same command again, without --force, refuses at once and loses nothing (it used to
    // delete the first build's output in the refusing step's cleanup).
    const before = statSync(artifact);
    const listing = readdirSync(project.output).sort();
    const again = await runCli(["build", project.template]).done;
    expect(again.output).toMatch(/Error: output_directory .*output already exists; use --force to replace it/);
    expect(again.code).toBe(1);
    expect(statSync(artifact)).toMatchObject({ size: before.size, mtimeMs: before.mtimeMs, ino: before.ino });
    expect(readdirSync(project.output).sort()).toEqual(listing);
  }, 600_000);
});
