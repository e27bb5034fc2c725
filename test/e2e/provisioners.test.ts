// A provisioner that reboots the guest (expect_disconnect) is followed by one that runs
// after the reboot, on the same build, as Packer users rely on.
import { beforeAll, describe, expect, it } from "vitest";
import { build, loadTemplate, type BuildEvent } from "../../src/index.js";
import { makeProject, requireFixture, waitNoQemu } from "./helpers.js";

describe("provisioners", () => {
  beforeAll(requireFixture);

  it("expect_disconnect: a rebooting script, then a script after the reboot", async () => {
    const project = makeProject((t) =>
      t.replace(
        'script = "tinyos/provisioner.sh"',
        `inline = ["echo before reboot: $(cat /proc/sys/kernel/random/boot_id)", "reboot"]\nexpect_disconnect = true\n\n[[provisioner]]\ntype = "shell"\ninline = ["echo after reboot: $(cat /proc/sys/kernel/random/boot_id)"]`,
      ),
    );
    const events: BuildEvent[] = [];
    const result = await build(loadTemplate(project.template), { onEvent: (e) => events.push(e) });
    const story = events.flatMap((e) => (e.type === "log" ? [e.message] : e.type === "output" ? [`> ${e.line}`] : e.type === "step-start" ? [`== ${e.step}`] : []));
    expect(result.error?.message, story.join("\n")).toBeUndefined();
    expect(result.ok).toBe(true);
    const lines = events.flatMap((e) => (e.type === "output" ? [e.line] : []));
    const before = lines.find((l) => l.startsWith("before reboot: "))?.slice("before reboot: ".length);
    const after = lines.find((l) => l.startsWith("after reboot: "))?.slice("after reboot: ".length);
    expect(before).toMatch(/^[0-9a-f-]{36}$/);
    expect(after).toMatch(/^[0-9a-f-]{36}$/);
    // A different boot: the second script really ran after the reboot.
    expect(after).not.toBe(before);
    expect(events.some((e) => e.type === "log" && e.message === "the guest rebooted; waiting for SSH again")).toBe(true);
    expect(await waitNoQemu(project.vmName)).toEqual([]);
  }, 400_000);
});
