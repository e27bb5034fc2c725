// `tsimg cache ls|prune` and `tsimg build --no-cache`, run as the CLI (dist/cli/main.js) on a
// real layer cache: qcow2 layers made with qemu-img, written through LayerStore as a build
// writes them. No VM is needed: --no-cache is shown reaching the build's layer step with a
// template whose QEMU does not exist, so the build stops right after that step.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LayerStore } from "../../src/cache/store.js";
import { makeProject, requireFixture, runCli } from "../e2e/helpers.js";

const k = (name: string) => createHash("sha256").update(name).digest("hex");

/** A finished layer with `mib` MiB written to its disk, last used `ageS` seconds ago. */
async function layer(store: LayerStore, name: string, parent: string | null, mib: number, ageS: number) {
  const writer = (await store.begin(k(name)))!;
  execFileSync("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    ...(parent ? ["-b", store.diskOf(k(parent)), "-F", "qcow2"] : []),
    writer.diskPath,
    "64M",
  ]);
  execFileSync("qemu-io", ["-f", "qcow2", "-c", `write -P 0x5a 0 ${mib}M`, writer.diskPath], { stdio: "ignore" });
  await writer.commit({ parent: parent && k(parent), index: parent ? 1 : 0, title: name, image: "tinyos" });
  const when = new Date(Date.now() - ageS * 1000);
  utimesSync(join(store.dirOf(k(name)), "meta.json"), when, when);
}

async function cache() {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-cache-cli-"));
  const store = await LayerStore.open(dir);
  await layer(store, "old install", null, 4, 3600);
  await layer(store, "old provisioner", "old install", 2, 3000);
  await layer(store, "new install", null, 4, 10);
  // What a writer killed with -9 leaves: a layer directory without meta.json.
  mkdirSync(join(dir, k("killed")));
  writeFileSync(join(dir, k("killed"), "disk.qcow2"), "half");
  return { dir, store };
}

const cli = async (args: string[]) => runCli(args).done;

describe("tsimg cache", () => {
  it("ls --json lists every finished layer, least recently used first, and the leftovers of killed builds", async () => {
    const { dir } = await cache();
    const { code, output } = await cli(["cache", "ls", "--json", "--dir", dir]);
    expect(code, output).toBe(0);
    const listing = JSON.parse(output) as {
      dir: string;
      totalBytes: number;
      layers: Array<{ key: string; title: string; image: string; bytes: number }>;
      garbage: string[];
    };
    expect(listing.dir).toBe(dir);
    expect(listing.layers.map((l) => l.title)).toEqual(["old install", "old provisioner", "new install"]);
    expect(listing.layers.every((l) => l.image === "tinyos" && l.bytes > 0)).toBe(true);
    expect(listing.garbage).toEqual([k("killed")]);
    expect(listing.totalBytes).toBeGreaterThan(10 * 1024 * 1024);
  });

  it("ls prints a table with keys, sizes and ages", async () => {
    const { dir } = await cache();
    const { code, output } = await cli(["cache", "ls", "--dir", dir]);
    expect(code, output).toBe(0);
    expect(output).toContain(`${dir}: 3 layer(s)`);
    expect(output).toMatch(new RegExp(`${k("new install").slice(0, 12)}\\s+tinyos\\s+0 new install`));
    expect(output).toContain("1 unfinished layer(s) of killed builds");
  });

  it("prune --max-size removes least recently used layers, a parent with its children, and killed builds' leftovers", async () => {
    const { dir } = await cache();
    const { code, output } = await cli(["cache", "prune", "--max-size", "6M", "--dir", dir]);
    expect(code, output).toBe(0);
    expect(output).toContain(`removed ${k("old install").slice(0, 12)}`);
    expect(output).toContain(`removed ${k("old provisioner").slice(0, 12)}`);
    expect(output).toContain("removed 1 unfinished layer(s) of killed builds");
    expect(existsSync(join(dir, k("new install"), "meta.json"))).toBe(true);
    expect(existsSync(join(dir, k("old install")))).toBe(false);
    expect(existsSync(join(dir, k("killed")))).toBe(false);
  });

  it("prune --all empties the cache; a file that is not a layer stays", async () => {
    const { dir } = await cache();
    writeFileSync(join(dir, "notes.txt"), "mine");
    const { code, output } = await cli(["cache", "prune", "--all", "--dir", dir]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/: 0 B left/);
    expect(existsSync(join(dir, "notes.txt"))).toBe(true);
  });

  it("bad usage gets one line and exit code 2", async () => {
    const { dir } = await cache();
    const noSize = await cli(["cache", "prune", "--dir", dir]);
    expect(noSize.code).toBe(2);
    expect(noSize.output).toContain("tsimg cache prune needs --all or --max-size SIZE");
    const badSize = await cli(["cache", "prune", "--max-size", "lots", "--dir", dir]);
    expect(badSize.code).toBe(2);
    expect(badSize.output).toContain('--max-size: "lots" is not a size');
    const unknown = await cli(["cache", "clean", "--dir", dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('unknown cache action "clean"');
    expect(`${noSize.output}${badSize.output}${unknown.output}`).not.toMatch(/\n\s+at /);
  });
});

describe("tsimg build --no-cache", () => {
  it("reaches the build's layer step, which uses no cache; with --resume it is a usage error", async () => {
    requireFixture();
    // A QEMU that does not exist: the build stops right after the layer step, with no VM.
    const project = makeProject((t) => t.replace("[source]\n", '[source]\nqemu_binary = "qemu-system-none"\n'));
    const plain = await cli(["build", project.template]);
    expect(plain.output, plain.output).toContain("layer cache: no cached layer matches");
    const noCache = await cli(["build", "--no-cache", project.template]);
    expect(noCache.output, noCache.output).toContain("layer cache: not used (--no-cache)");
    expect(noCache.code).toBe(1);
    expect(noCache.output).toContain("qemu-system-none");
    const both = await cli(["build", "--no-cache", "--resume", project.template]);
    expect(both.code).toBe(2);
    expect(both.output).toContain("--resume continues from cached layers: it cannot go with --no-cache");
  });
});
