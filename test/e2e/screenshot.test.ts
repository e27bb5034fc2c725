// Console screenshots on demand (issue #4, and #6's dashboard): from the library
// (startBuild().screenshot()) and from the CLI (`tsimg screenshot <output_directory>` in
// another process while `tsimg build` runs), against real QEMU under TCG. Each build is
// cancelled once it has given a screenshot: the rest of the build proves nothing here.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../src/core/abort.js";
import { loadTemplate, NoVmRunningError, startBuild } from "../../src/index.js";
import { makeProject, pngSize, requireFixture, runCli, waitNoQemu } from "./helpers.js";

describe("console screenshots", () => {
  beforeAll(requireFixture);

  it("library: startBuild().screenshot() rejects before QEMU runs, returns a PNG while the VM runs, rejects after the end", async () => {
    const project = makeProject();
    const controller = new AbortController();
    let vmStarted!: () => void;
    const started = new Promise<void>((resolve) => (vmStarted = resolve));
    const running = startBuild(loadTemplate(project.template), {
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === "log" && event.message.startsWith("VM started")) vmStarted();
      },
    });
    // Right away the build is still verifying the ISO: there is no VM.
    const early = await running.screenshot().catch((error: unknown) => error);
    expect(early).toBeInstanceOf(NoVmRunningError);
    expect((early as Error).message).toBe("no VM is running yet: the build has not started QEMU");

    await Promise.race([
      started,
      running.result.then((r) => Promise.reject(new Error(`build ended before the VM started: ${r.error?.message}`))),
    ]);
    // Two at once: each gets its own file in the work dir, neither sees the other's.
    const [png, again] = await Promise.all([running.screenshot(), running.screenshot()]);
    const size = pngSize(png);
    expect(size.width).toBeGreaterThan(0);
    expect(size.height).toBeGreaterThan(0);
    expect(pngSize(again)).toEqual(size);

    controller.abort();
    const result = await running.result;
    expect(result.cancelled).toBe(true);
    await expect(running.screenshot()).rejects.toThrow("no VM is running: the build has ended");
    expect(await waitNoQemu(project.vmName, 1000)).toEqual([]);
  }, 300_000);

  it("CLI: tsimg screenshot <output_directory> saves the console of a build running in another process, and says clearly when none runs", async () => {
    const project = makeProject();
    const target = join(project.dir, "console.png");
    const control = `${project.output}.tsimg-control`;

    const before = await runCli(["screenshot", project.output, "-o", target]).done;
    expect(before.code).toBe(1);
    expect(before.output).toContain(`no tsimg build is running with output_directory ${project.output}`);

    const build = runCli(["build", project.template]);
    let exited = false;
    void build.done.then(() => (exited = true));
    // Ask every second: first there is no control file or no VM yet, then a PNG.
    const refusals = new Set<string>();
    let saved: Awaited<ReturnType<typeof runCli>["done"]> | undefined;
    for (let i = 0; i < 240 && !exited; i++) {
      const attempt = await runCli(["screenshot", project.output, "-o", target]).done;
      if (attempt.code === 0) {
        saved = attempt;
        break;
      }
      refusals.add(attempt.output.split("\n")[0]!.replace(/\(pid \d+\)/, "(pid N)"));
      await sleep(1000);
    }
    expect(saved, [...refusals].join("\n")).toBeDefined();
    expect(saved!.output).toMatch(/^.*console\.png: the console of tinyos \(PNG \d+x\d+, \d+ bytes\)$/m);
    const size = pngSize(readFileSync(target));
    expect(size.width).toBeGreaterThan(0);
    expect(size.height).toBeGreaterThan(0);
    // Whatever it said before the VM ran was one of the two clear refusals.
    for (const refusal of refusals)
      expect(refusal).toMatch(
        /no tsimg build is running with output_directory|has no screenshot: no VM is running yet/,
      );
    expect(existsSync(control)).toBe(true);
    expect(JSON.parse(readFileSync(control, "utf8"))).toMatchObject({ pid: build.child.pid, build: "tinyos" });

    build.child.kill("SIGINT");
    expect((await build.done).code).toBe(130);
    expect(existsSync(control)).toBe(false);
    const after = await runCli(["screenshot", project.output]).done;
    expect(after.code).toBe(1);
    expect(after.output).toContain("no tsimg build is running with output_directory");
    expect(await waitNoQemu(project.vmName, 1000)).toEqual([]);
  }, 300_000);
});
