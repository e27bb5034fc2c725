// Post-processor outputs outside output_directory: an existing file there is never replaced
// (the manifest, which keeps earlier entries, excepted), and what a failed build created
// there is removed by the post-process step's cleanup.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BuildStepContext } from "../../src/builder/context.js";
import { postProcess } from "../../src/builder/steps/post-process.js";
import { checksumPostProcessor } from "../../src/postprocessors/checksum.js";
import { manifestPostProcessor } from "../../src/postprocessors/manifest.js";
import type { ChecksumConfig, ManifestConfig } from "../../src/postprocessors/types.js";
import { diskArtifact, makeCtx, tempDir } from "./helpers.js";

const checksum = (output: string): ChecksumConfig => ({
  type: "checksum",
  checksum_types: ["sha256"],
  output,
  sha256sums: false,
});
const manifest = (output: string): ManifestConfig => ({
  type: "manifest",
  output,
  strip_path: false,
  strip_time: false,
  custom_data: {},
});

describe("post-processor outputs outside output_directory", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  beforeEach(async () => {
    t = await tempDir();
    out = join(t.dir, "output");
    mkdirSync(out);
  });
  afterEach(() => t.done());

  it("refuses to replace a file that exists there, and leaves it as it was", async () => {
    const victim = join(t.dir, "notes.txt");
    writeFileSync(victim, "my notes");
    const ctx = makeCtx(out, { outsideFiles: [] });
    const error = await checksumPostProcessor
      .run(await diskArtifact(out), checksum("../notes.txt"), ctx)
      .catch((e: Error) => e);
    expect((error as Error).message).toBe(
      `checksum output ${victim} already exists outside output_directory; tsimg replaces files only inside the directory its build made: remove it, or choose another output`,
    );
    expect(readFileSync(victim, "utf8")).toBe("my notes");
    expect(ctx.outsideFiles).toEqual([]);
  });

  it("records a new file it writes there; inside output_directory nothing is recorded", async () => {
    const ctx = makeCtx(out, { outsideFiles: [] });
    await checksumPostProcessor.run(await diskArtifact(out), checksum("../sums/{{ .ChecksumType }}.txt"), ctx);
    await checksumPostProcessor.run(await diskArtifact(out), checksum("inside.txt"), ctx);
    expect(ctx.outsideFiles).toEqual([join(t.dir, "sums", "sha256.txt")]);
    expect(existsSync(join(out, "inside.txt"))).toBe(true);
  });

  it("the manifest merges into an existing file outside, and does not record it for removal", async () => {
    const shared = join(t.dir, "packer-manifest.json");
    writeFileSync(shared, JSON.stringify({ builds: [{ name: "earlier" }], last_run_uuid: "x" }));
    const ctx = makeCtx(out, { outsideFiles: [] });
    await manifestPostProcessor.run(await diskArtifact(out), manifest("../packer-manifest.json"), ctx);
    expect(JSON.parse(readFileSync(shared, "utf8")).builds.map((b: { name: string }) => b.name)).toEqual([
      "earlier",
      "tiny",
    ]);
    expect(ctx.outsideFiles).toEqual([]);
  });

  it("a failed build's post-process cleanup removes what it created outside, and nothing else", async () => {
    const created = join(t.dir, "created.zst");
    const kept = join(t.dir, "kept.txt");
    writeFileSync(created, "made by this build");
    writeFileSync(kept, "the user's");
    const ctx = { ...makeCtx(out), build: { options: { keepOnError: false } } } as unknown as BuildStepContext;
    const input = {} as Parameters<typeof postProcess.run>[1];
    const done = { outsideFiles: [created] };
    await postProcess.cleanup!(ctx, input, done, "ok");
    expect(existsSync(created)).toBe(true);
    await postProcess.cleanup!(ctx, input, done, "failed");
    expect(existsSync(created)).toBe(false);
    expect(existsSync(kept)).toBe(true);
  });
});
