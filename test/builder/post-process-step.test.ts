// The "post-process" step: the chains run on the finished disk as the build's last step,
// with the manifest's inputs filled in; a failing chain fails the step, named.
import { createHash, randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { qemuPipeline } from "../../src/builder/pipeline.js";
import type { BuildContext, BuildStepContext } from "../../src/builder/context.js";
import type { PostProcessed } from "../../src/builder/values.js";
import { postProcess } from "../../src/builder/steps/post-process.js";
import { EventBus } from "../../src/core/event-bus.js";
import type { BuildEvent } from "../../src/core/events.js";
import { Masker } from "../../src/core/masker.js";
import { runChain } from "../../src/core/runner.js";
import type { ManifestFile } from "../../src/postprocessors/manifest.js";
import { loadTemplate } from "../../src/builder/load-template.js";
import { buildContext } from "./step-context.js";

const root = mkdtempSync(join(tmpdir(), "tsimg-ppstep-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

// Stand-ins for `qemu-system-x86_64 --version` and `qemu-img --version`: no QEMU runs here.
const bin = join(root, "bin");
beforeAll(() => {
  mkdirSync(bin);
  for (const [name, line] of [
    ["qemu-system-x86_64", "QEMU emulator version 9.9.9"],
    ["qemu-img", "qemu-img version 9.9.9"],
  ]) {
    writeFileSync(join(bin, name!), `#!/bin/sh\necho '${line}'\n`);
    chmodSync(join(bin, name!), 0o755);
  }
  vi.stubEnv("PATH", `${bin}${delimiter}${process.env.PATH ?? ""}`);
});
afterAll(() => vi.unstubAllEnvs());

let count = 0;
/** What the step reads: the finished disk and the ISO (as compact and fetch-iso leave them). */
type Input = Parameters<typeof postProcess.run>[1];

function setup(postProcessors: string): {
  build: BuildContext;
  input: Input;
  disk: string;
  output: string;
  events: BuildEvent[];
  bus: EventBus;
} {
  const dir = join(root, String(++count));
  mkdirSync(join(dir, "out"), { recursive: true });
  writeFileSync(join(dir, "os.iso"), "an ISO");
  writeFileSync(
    join(dir, "os.toml"),
    `[image]\nname = "os"\nversion = "2.0"\n\n[source]\niso_url = "os.iso"\niso_checksum = "none"\nssh_username = "root"\noutput_directory = "${join(dir, "out")}"\n\n${postProcessors}`,
  );
  const plan = loadTemplate(join(dir, "os.toml"), { env: {} });
  const disk = join(dir, "out", "os.qcow2");
  writeFileSync(disk, Buffer.alloc(64 * 1024, 7));
  const build = buildContext(plan, { runUuid: randomUUID(), startTime: Date.now(), cacheDir: tmpdir() });
  const input: Input = { artifactPath: disk, additionalArtifacts: [], isoPath: plan.source.iso_url };
  const events: BuildEvent[] = [];
  const bus = new EventBus("os", new Masker());
  bus.on((e) => events.push(e));
  return { build, input, disk, output: join(dir, "out"), events, bus };
}

describe("post-process step", () => {
  test("is the pipeline's last step only when the template has post-processors", () => {
    const without = setup("");
    expect(
      qemuPipeline(without.build.plan)
        .steps.map((s) => s.name)
        .at(-1),
    ).toBe("write-sbom");
    const withPp = setup('[[post_processor]]\ntype = "checksum"\n');
    expect(
      qemuPipeline(withPp.build.plan)
        .steps.map((s) => s.name)
        .slice(-4),
    ).toEqual(["compact", "boot-test", "write-sbom", "post-process"]);
    expect(postProcess.title).toBe("Running post-processors...");
  });

  test("runs every chain on the disk, records the inputs in the manifest, and lists what the build leaves", async () => {
    const { build, input, disk, output, events, bus } = setup(
      '[[post_processor]]\nchain = "release"\ntype = "checksum"\n\n[[post_processor]]\nchain = "release"\ntype = "manifest"\n\n[[post_processor]]\ntype = "shell-local"\ninline = ["echo shell-local saw $TSIMG_ARTIFACT"]\n',
    );
    const ctx: BuildStepContext = { signal: new AbortController().signal, events: bus, build };
    const state = (await runChain([postProcess], input, ctx)).output as PostProcessed;

    expect(
      events
        .filter((e) => e.type === "step-start" || e.type === "step-end")
        .map((e) => (e.type === "step-start" ? `start ${e.step}: ${e.title}` : `end ${e.step} ${e.outcome}`)),
    ).toEqual(["start post-process: Running post-processors...", "end post-process ok"]);
    expect(events).toContainEqual(expect.objectContaining({ type: "output", line: `shell-local saw ${disk}` }));

    // The disk (checksum, first of its chain, keeps it), then each chain's last artifact.
    expect(state.artifacts?.map((a) => [a.producer, a.id])).toEqual([
      ["qemu", disk],
      ["manifest", disk],
      ["qemu", disk],
    ]);
    expect(state.artifacts?.[1]?.checksums.sha256).toBe(sha256(Buffer.alloc(64 * 1024, 7)));

    const manifest = JSON.parse(readFileSync(join(output, "packer-manifest.json"), "utf8")) as ManifestFile;
    expect(manifest.last_run_uuid).toBe(build.options.runUuid);
    expect(manifest.builds[0]?.inputs).toMatchObject({
      iso: { file: "os.iso", sha256: sha256("an ISO") },
      template: { file: "os.toml" },
      tools: { qemu: "QEMU emulator version 9.9.9", "qemu-img": "qemu-img version 9.9.9" },
    });
    expect(readFileSync(join(output, "SHA256SUMS"), "utf8")).toBe(`${sha256(Buffer.alloc(64 * 1024, 7))}  os.qcow2\n`);
  });

  test("a failing chain fails the step, naming the post-processor", async () => {
    const { build, input, events, bus } = setup(
      '[[post_processor]]\ntype = "checksum"\n\n[[post_processor]]\ntype = "shell-local"\ninline = ["exit 4"]\n',
    );
    await expect(
      runChain([postProcess], input, { signal: new AbortController().signal, events: bus, build }),
    ).rejects.toThrow(/chain 2, post-processor 1 \(shell-local\) failed: .*exited with code 4/);
    expect(events.at(-1)).toMatchObject({ type: "step-end", step: "post-process", outcome: "failed" });
  });

  test("a cancelled build stops the chain and the step ends cancelled", async () => {
    const { build, input, events, bus } = setup('[[post_processor]]\ntype = "shell-local"\ninline = ["sleep 30"]\n');
    const controller = new AbortController();
    const run = runChain([postProcess], input, { signal: controller.signal, events: bus, build });
    await vi.waitFor(
      () =>
        expect(events.some((e) => e.type === "log" && e.message.includes("running post-processor: shell-local"))).toBe(
          true,
        ),
      { timeout: 10_000 },
    );
    const t0 = Date.now();
    controller.abort();
    await expect(run).rejects.toThrow(/cancel/i);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(events.at(-1)).toMatchObject({ type: "step-end", step: "post-process", outcome: "cancelled" });
  });
});
