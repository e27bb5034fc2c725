// Issue 14's layer cache end to end, on one tinyos project and one cold build shared by every
// case (real QEMU under TCG, real SSH, real HTTP):
//   A  cold build: installs, keeps the install layer and the file provisioner's layer
//   B  the same inputs again: continues from the cache; its installed files equal A's
//   C  provisioner.sh edited: no boot command, no kickstart, only the shell provisioner runs;
//      the artifact boots alone and shows the edit; the manifest says which layers were reused
//   D  a third provisioner that fails: the build fails, keeping the layer before it
//   E  the third provisioner fixed, --resume: continues from D's layer, no reinstall
//   F  a layer whose memory is damaged (one byte), then one QEMU cannot load: each time the
//      build says so and boots the layer's disk
//   G  provisioner 2 marked cache = false: it and provisioner 3 run again, its layer is not kept
//   H  a byte of layer 1's disk changed behind tsimg's back: the build finds it, removes the
//      layer and continues from layer 0, re-making layer 1
//
// B to E run the guest on from the layer's memory (no boot); F proves the fallback.
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bootAndRun, makeProject, requireFixture, runCli, waitNoQemu } from "./helpers.js";

const PASSWORD = "tsimg-example";
// Every regular file outside the pseudo and scratch file systems and the logs, with its sha256.
const FILE_TREE =
  'find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/log -o -path /var/run -o -path /root/.ash_history \\) -prune -o -type f -print | sort | while read -r f; do sha256sum "$f"; done';

describe("layer cache: tsimg build continues from cached layers", () => {
  let project: ReturnType<typeof makeProject>;
  let script: string;
  let coldTree = "";
  const build = async (args: string[] = []) => {
    const result = await runCli(["build", "--force", ...args, project.template]).done;
    expect(await waitNoQemu(project.vmName)).toEqual([]);
    // No Node.js process warning (once: a listener left on the SSH connection per command).
    expect(result.output).not.toMatch(/\(node:\d+\) \w*Warning/);
    return result;
  };
  const artifact = () => join(project.output, project.vmName);
  const manifest = () =>
    JSON.parse(readFileSync(join(project.output, "packer-manifest.json"), "utf8")) as {
      builds: Array<{ layers: Array<{ index: number; key: string; reused: boolean }> }>;
    };

  beforeAll(async () => {
    requireFixture();
    project = makeProject((t) => t + '\n[[post_processor]]\ntype = "manifest"\n');
    script = join(project.dir, "images/tinyos/provisioner.sh");
    const cold = await build();
    expect(cold.output, cold.output).toContain(`Build 'tinyos' finished`);
    expect(cold.output).toMatch(/HTTP GET \/ks\/tinyos\.ks -> 200/);
    expect(cold.output).toMatch(/layer cache: saved layer 0 \(install\)/);
    expect(cold.output).toMatch(/layer cache: saved layer 1 \(provisioner 1: file\)/);
    coldTree = await bootAndRun(artifact(), PASSWORD, FILE_TREE);
  }, 600_000);

  it("a rebuild of the same inputs reuses the layers and installs the same files", async () => {
    const again = await build();
    expect(again.output, again.output).toContain(`Build 'tinyos' finished`);
    expect(again.output).toMatch(/continuing from layer 1/);
    expect(again.output).not.toMatch(/typing \d+ keys/);
    const tree = await bootAndRun(artifact(), PASSWORD, FILE_TREE);
    expect(tree.split("\n").length).toBeGreaterThan(50);
    expect(tree).toBe(coldTree);
  }, 600_000);

  it("after an edit to provisioner.sh, only that provisioner runs, and the artifact shows the edit", async () => {
    writeFileSync(script, readFileSync(script, "utf8") + "echo 'edited after the cold build' > /etc/tsimg-edit\n");
    const edited = await build();
    const { output } = edited;
    expect(output, output).toContain(`Build 'tinyos' finished`);
    expect(output).toMatch(/layer cache: reusing layer 0 \(install\) [0-9a-f]{12}/);
    expect(output).toMatch(/layer cache: reusing layer 1 \(provisioner 1: file\) [0-9a-f]{12}/);
    expect(output).toMatch(/continuing from layer 1, saved .* ago; running 1 provisioner/);
    expect(output).toContain("nothing to type");
    // The guest ran on from the layer's memory: no boot, and its clock was set to now.
    expect(output).toMatch(/layer cache: the guest runs on from the layer's memory \(loaded in [\d.]+m?s\), no boot/);
    expect(output).toMatch(/set the guest's clock to the host's \(it was .* behind\)/);
    expect(output).not.toMatch(/guest rebooted/);
    expect(output).not.toMatch(/typing \d+ keys/);
    expect(output).not.toMatch(/HTTP GET/);
    expect(output).toContain("provisioner 1/2: file: done in cached layer 1");
    expect(output).not.toContain("uploading");
    expect(output).toContain("provisioning tinyos 1.0.0");
    const layers = manifest().builds[0]!.layers;
    expect(layers.map((l) => [l.index, l.reused])).toEqual([
      [0, true],
      [1, true],
    ]);
    const seen = await bootAndRun(artifact(), PASSWORD, "cat /etc/tsimg-edit /etc/motd /etc/tsimg-install-stamp");
    expect(seen).toContain("edited after the cold build");
    expect(seen).toContain("Welcome to tinyos, built by tsimg.");
    expect(seen).toContain("installed by kickstart");
  }, 600_000);

  it("a failed provisioner keeps the layer before it; --resume continues from there", async () => {
    const template = readFileSync(project.template, "utf8");
    const third = (command: string) =>
      template.replace(
        "\n[[post_processor]]",
        `\n[[provisioner]]\ntype = "shell"\ninline = ["${command}"]\n\n[[post_processor]]`,
      );
    writeFileSync(script, readFileSync(script, "utf8") + "echo 'second edit' >> /etc/tsimg-edit\n");
    writeFileSync(project.template, third("echo failing; exit 3"));
    const failed = await build();
    expect(failed.code, failed.output).toBe(1);
    expect(failed.output).toMatch(/layer cache: saved layer 2 \(provisioner 2: shell\)/);

    writeFileSync(project.template, third("echo fixed > /etc/tsimg-fixed"));
    const resumed = await build(["--resume"]);
    expect(resumed.output, resumed.output).toContain(`Build 'tinyos' finished`);
    expect(resumed.output).toMatch(/continuing from layer 2, saved .* ago; running 1 provisioner/);
    expect(resumed.output).not.toMatch(/typing \d+ keys/);
    expect(resumed.output).not.toContain("provisioning tinyos 1.0.0");
    const seen = await bootAndRun(artifact(), PASSWORD, "cat /etc/tsimg-fixed /etc/tsimg-edit");
    expect(seen).toContain("fixed");
    expect(seen).toContain("second edit");
  }, 600_000);

  it("a layer whose memory is damaged or QEMU cannot load: the build boots the layer's disk instead", async () => {
    const layers = join(project.dir, "layers");
    /** Layer 2's memory file and meta.json (the layer the build continues from). */
    const layer2 = () => {
      for (const key of readdirSync(layers).filter((n) => /^[0-9a-f]{64}$/.test(n))) {
        const metaPath = join(layers, key, "meta.json");
        const memory = join(layers, key, "memory.state");
        if (!existsSync(metaPath) || !existsSync(memory)) continue;
        const meta = JSON.parse(readFileSync(metaPath, "utf8")) as { index: number; files: Record<string, string> };
        if (meta.index === 2) return { metaPath, memory, meta };
      }
      throw new Error("no layer 2 with memory in the cache");
    };
    const fallsBack = async (why: RegExp) => {
      const again = await build();
      expect(again.output, again.output).toContain(`Build 'tinyos' finished`);
      expect(again.output).toMatch(/continuing from layer 2/);
      expect(again.output).toMatch(why);
      expect(again.output).toContain("nothing to type, the installed disk boots");
      expect(again.output).not.toMatch(/typing \d+ keys/);
      expect(again.output).not.toContain("the guest runs on from the layer's memory");
      const seen = await bootAndRun(artifact(), PASSWORD, "cat /etc/tsimg-fixed");
      expect(seen).toContain("fixed");
    };

    // One byte changed in the middle of a real stream (QEMU could well load it): the hash,
    // checked while QEMU loads the file, stops the guest from running on it.
    const { memory } = layer2();
    const fd = openSync(memory, "r+");
    writeSync(fd, Buffer.from([0x5a]), 0, 1, Math.floor(statSync(memory).size / 2));
    closeSync(fd);
    await fallsBack(
      /the layer's memory could not be loaded \(memory\.state does not match its recorded sha256.*\): booting its disk instead/,
    );

    // A stream QEMU rejects, recorded in meta.json as the layer's (so its hash matches):
    // what a machine that differs in a way the key does not see would give.
    const { metaPath, meta } = layer2();
    const garbage = Buffer.from("not a QEMU migration stream\n".repeat(1000));
    writeFileSync(memory, garbage);
    meta.files["memory.state"] = createHash("sha256").update(garbage).digest("hex");
    writeFileSync(metaPath, JSON.stringify(meta));
    await fallsBack(/the layer's memory could not be loaded \(.*\): booting its disk instead/);
  }, 900_000);

  it("cache = false: that provisioner and the ones after it always run, and its layer is not kept", async () => {
    const template = readFileSync(project.template, "utf8");
    expect(template).toContain('script = "tinyos/provisioner.sh"');
    writeFileSync(
      project.template,
      template.replace('script = "tinyos/provisioner.sh"', 'script = "tinyos/provisioner.sh"\ncache = false'),
    );
    const { output } = await build();
    expect(output, output).toContain(`Build 'tinyos' finished`);
    // Layer 2 (the same script as before) exists in the cache, but cache = false keys it per run.
    expect(output).toMatch(/continuing from layer 1, saved .* ago; running 2 provisioner/);
    expect(output).toContain("provisioning tinyos 1.0.0");
    expect(output).toMatch(/layer cache: layer 2 \(provisioner 2: shell\) is not kept \(cache = false\)/);
    expect(manifest().builds[0]!.layers.map((l) => [l.index, l.reused])).toEqual([
      [0, true],
      [1, true],
      [2, false],
    ]);
  }, 600_000);

  it("a damaged layer is found before use, removed and made again", async () => {
    const layers = join(project.dir, "layers");
    const first = readdirSync(layers).find((key) => {
      const metaPath = join(layers, key, "meta.json");
      return existsSync(metaPath) && (JSON.parse(readFileSync(metaPath, "utf8")) as { index: number }).index === 1;
    });
    expect(first).toBeDefined();
    const fd = openSync(join(layers, first!, "disk.qcow2"), "r+");
    writeSync(fd, Buffer.from([0xff]), 0, 1, 70_000);
    closeSync(fd);
    const { output } = await build();
    expect(output, output).toContain(`Build 'tinyos' finished`);
    expect(output).toMatch(
      /layer cache: layer 1 \([0-9a-f]{12}\) is damaged \(disk\.qcow2 does not match its recorded sha256\): removing it and rebuilding/,
    );
    expect(output).toMatch(/continuing from layer 0/);
    expect(output).toMatch(/layer cache: saved layer 1 \(provisioner 1: file\)/);
    expect(output).not.toMatch(/typing \d+ keys/);
  }, 600_000);
});
