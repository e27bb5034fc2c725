// The control socket `tsimg screenshot` reaches a running build through (src/cli/control.ts),
// with a stand-in for the build: what it answers, and how stale or foreign control files are
// treated. test/e2e/screenshot.test.ts runs the same path against real QEMU.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { controlFileOf, publishControl, requestScreenshot } from "../../src/cli/control.js";
import { NoVmRunningError } from "../../src/core/errors.js";
import { solidPng } from "../serve/helpers.js";

const output = () => join(mkdtempSync(join(tmpdir(), "tsimg-control-test-")), "output-tinyos");
const deadPid = () => spawnSync("true").pid!;

describe("tsimg screenshot's control socket", () => {
  it("hands over the build's PNG, passes on why there is none, and removes its file on close", async () => {
    const out = output();
    const png = solidPng(8, 6);
    let vm = false;
    const control = await publishControl(`${out}/`, "tinyos", {
      screenshot: async () =>
        vm ? png : Promise.reject(new NoVmRunningError("no VM is running yet: the build has not started QEMU")),
    });
    expect(control.published).toBe(true);
    expect(controlFileOf(`${out}/`)).toBe(`${out}.tsimg-control`);
    expect(JSON.parse(readFileSync(`${out}.tsimg-control`, "utf8"))).toMatchObject({
      pid: process.pid,
      build: "tinyos",
    });

    await expect(requestScreenshot(out)).rejects.toThrow(
      `build tinyos (pid ${process.pid}) has no screenshot: no VM is running yet: the build has not started QEMU`,
    );
    vm = true;
    const got = await requestScreenshot(out);
    expect(got.build).toBe("tinyos");
    expect(got.png.equals(png)).toBe(true);

    await control.close();
    expect(existsSync(`${out}.tsimg-control`)).toBe(false);
    await expect(requestScreenshot(out)).rejects.toThrow(`no tsimg build is running with output_directory ${out}`);
  });

  it("directories made for the control file go with it when they stay empty (a build that ended early); others stay", async () => {
    const base = mkdtempSync(join(tmpdir(), "tsimg-control-test-"));
    const early = await publishControl(join(base, "builds/2026/output-tinyos"), "tinyos", {
      screenshot: async () => solidPng(1, 1),
    });
    expect(existsSync(join(base, "builds/2026/output-tinyos.tsimg-control"))).toBe(true);
    await early.close();
    expect(readdirSync(base)).toEqual([]);

    const later = await publishControl(join(base, "builds/2026/output-tinyos"), "tinyos", {
      screenshot: async () => solidPng(1, 1),
    });
    mkdirSync(join(base, "builds/2026/output-tinyos")); // the build got as far as its output directory
    await later.close();
    expect(readdirSync(join(base, "builds/2026"))).toEqual(["output-tinyos"]);
  });

  it("a file left by a killed build is recognised and replaced; one of a live build is left alone", async () => {
    const out = output();
    const file = `${out}.tsimg-control`;
    writeFileSync(file, JSON.stringify({ pid: deadPid(), socket: "/nonexistent/control.sock", build: "tinyos" }));
    const stale = await requestScreenshot(out).catch((error: Error & { details: string[] }) => error);
    expect((stale as Error).message).toBe(`no tsimg build is running with output_directory ${out}`);
    expect((stale as { details: string[] }).details[0]).toMatch(/was left by pid \d+, which has ended/);

    const mine = await publishControl(out, "tinyos", { screenshot: async () => solidPng(2, 2) });
    expect(mine.published).toBe(true);
    expect(JSON.parse(readFileSync(file, "utf8")).pid).toBe(process.pid);
    await mine.close();

    // pid 1 is alive and not us: another build owns this output directory.
    writeFileSync(file, JSON.stringify({ pid: 1, socket: "/nonexistent/control.sock", build: "other" }));
    const second = await publishControl(out, "tinyos", { screenshot: async () => solidPng(2, 2) });
    expect(second.published).toBe(false);
    await second.close();
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ pid: 1, build: "other" });
    await expect(requestScreenshot(out)).rejects.toThrow(`no tsimg build is running with output_directory ${out}`); // pid 1 does not listen there
  });
});
