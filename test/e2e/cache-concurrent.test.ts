// Issue 14: two real builds started together that need the same layers (real QEMU under
// TCG, real SSH, real HTTP) make each layer once. One installs the OS; the other waits for
// each layer the first is making, then continues from them: it fetches no kickstart and
// types no boot command. Both artifacts are complete.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bootAndRun, makeProject, requireFixture, runCli, waitNoQemu } from "./helpers.js";

describe("layer cache: two builds at once share their layers", () => {
  beforeAll(() => requireFixture());

  it("the OS is installed once; the second build waits for the layers and continues from them", async () => {
    const project = makeProject();
    // The same template with another output directory (not part of any layer's key).
    const second = join(project.dir, "images/tinyos-b.toml");
    const outputB = join(project.dir, "output-b");
    writeFileSync(second, readFileSync(project.template, "utf8").replace(project.output, outputB));

    const [a, b] = await Promise.all([
      runCli(["build", "--force", project.template]).done,
      runCli(["build", "--force", second]).done,
    ]);
    expect(await waitNoQemu(project.vmName)).toEqual([]);
    for (const run of [a, b]) expect(run.output, run.output).toContain(`Build 'tinyos' finished`);

    const installed = [a, b].filter((r) => /layer cache: saved layer 0 \(install\)/.test(r.output));
    const waited = [a, b].filter((r) => r !== installed[0]);
    expect(installed).toHaveLength(1);
    expect(waited).toHaveLength(1);
    // The first build installed the OS, served the kickstart and typed the boot command...
    expect(installed[0]!.output).toMatch(/HTTP GET \/ks\/tinyos\.ks -> 200/);
    expect(installed[0]!.output).toMatch(/typing \d+ keys/);
    // ...the second waited for it, then continued from its layers without installing.
    const other = waited[0]!.output;
    expect(other).toMatch(/layer cache: build pid \d+ is making layer 0 \([0-9a-f]{12}\); waiting for it/);
    expect(other).toMatch(/continuing from layer [01]/);
    expect(other).not.toMatch(/HTTP GET \/ks\/tinyos\.ks/);
    expect(other).not.toMatch(/typing \d+ keys/);
    expect(other).not.toMatch(/layer cache: saved layer 0/);

    for (const output of [project.output, outputB]) {
      const seen = await bootAndRun(join(output, project.vmName), "tsimg-example", "cat /etc/motd");
      expect(seen).toContain("Welcome to tinyos");
    }
  }, 900_000);
});
