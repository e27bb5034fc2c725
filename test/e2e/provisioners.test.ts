// A provisioner that reboots the guest (expect_disconnect) is followed by one that runs
// after the reboot, on the same build, as Packer users rely on.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { build, loadTemplate, type BuildEvent } from "../../src/index.js";
import { makeProject, requireFixture, waitNoQemu } from "./helpers.js";

// The file provisioner's other forms ride on the same build: content, sources, and a
// download of a directory the guest made.
const FILE_EXTRAS = `
[[provisioner]]
type = "file"
content = "hello from content\\n"
destination = "/root/content.txt"

[[provisioner]]
type = "file"
sources = ["../resources/motd", "tinyos/provisioner.sh"]
destination = "/root/up/"

[[provisioner]]
type = "shell"
inline = ["echo uploaded: $(ls /root/up | tr '\\\\n' ' ')", "mkdir -p /root/out/sub", "cp /root/content.txt /root/out/sub/", "echo second > /root/out/two.txt"]

[[provisioner]]
type = "file"
direction = "download"
source = "/root/out"
destination = "downloaded/"
`;

describe("provisioners", () => {
  beforeAll(requireFixture);

  it("expect_disconnect: a rebooting script, then a script after the reboot", async () => {
    const project = makeProject((t) =>
      t.replace(
        'script = "tinyos/provisioner.sh"\nenvironment_vars = ["IMAGE_VERSION=1.0.0"]',
        `inline = ["echo before reboot: $(cat /proc/sys/kernel/random/boot_id)", "reboot"]\nexpect_disconnect = true\n\n[[provisioner]]\ntype = "shell"\ninline = ["echo after reboot: $(cat /proc/sys/kernel/random/boot_id)"]\n${FILE_EXTRAS}`,
      ),
    );
    const events: BuildEvent[] = [];
    const result = await build(loadTemplate(project.template), { onEvent: (e) => events.push(e) });
    const story = events.flatMap((e) =>
      e.type === "log"
        ? [e.message]
        : e.type === "output"
          ? [`> ${e.line}`]
          : e.type === "step-start"
            ? [`== ${e.step}`]
            : [],
    );
    expect(result.error?.message, story.join("\n")).toBeUndefined();
    expect(result.ok).toBe(true);
    const lines = events.flatMap((e) => (e.type === "output" ? [e.line] : []));
    const before = lines.find((l) => l.startsWith("before reboot: "))?.slice("before reboot: ".length);
    const after = lines.find((l) => l.startsWith("after reboot: "))?.slice("after reboot: ".length);
    expect(before).toMatch(/^[0-9a-f-]{36}$/);
    expect(after).toMatch(/^[0-9a-f-]{36}$/);
    // A different boot: the second script really ran after the reboot.
    expect(after).not.toBe(before);
    expect(events.some((e) => e.type === "log" && e.message === "the guest rebooted; waiting for SSH again")).toBe(
      true,
    );
    expect(lines).toContain("uploaded: motd provisioner.sh");
    const downloaded = join(project.dir, "images/downloaded/out");
    expect(readFileSync(join(downloaded, "sub/content.txt"), "utf8")).toBe("hello from content\n");
    expect(readFileSync(join(downloaded, "two.txt"), "utf8")).toBe("second\n");
    expect(await waitNoQemu(project.vmName)).toEqual([]);
  }, 400_000);
});
