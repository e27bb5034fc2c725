import { createHash } from "node:crypto";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deriveArtifact } from "../../src/postprocessors/artifact.js";
import { compressPostProcessor, formatFromOutput } from "../../src/postprocessors/compress.js";
import { spawnToFile } from "../../src/postprocessors/spawn-to-file.js";
import type { CompressConfig, CompressFormat } from "../../src/postprocessors/types.js";
import { diskArtifact, makeCtx, semiCompressible, tempDir } from "./helpers.js";

const DECOMPRESS: Record<string, (file: string) => string[]> = {
  zst: (f) => ["zstd", "-d", "-c", f],
  gz: (f) => ["gzip", "-d", "-c", f],
  xz: (f) => ["xz", "-d", "-c", f],
};

describe("compress post-processor", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (t = await tempDir()));
  afterEach(() => t.done());

  it.each(["zst", "gz", "xz"] as const)("%s: round-trips, records size and sha256 of the output", async (format) => {
    const input = await diskArtifact(t.dir, 3 * 1024 * 1024);
    const ctx = makeCtx(t.dir);
    const out = await compressPostProcessor.run(input, { type: "compress", format, compression_level: 1 }, ctx);
    const file = join(t.dir, `tiny.qcow2.${format}`);
    expect(out.files).toEqual([file]);
    expect(out.format).toBe(`qcow2.${format}`);
    const compressed = await readFile(file);
    expect(out.size).toBe(compressed.length);
    expect(out.size!).toBeLessThan(3 * 1024 * 1024);
    expect(out.checksums).toEqual({ sha256: createHash("sha256").update(compressed).digest("hex") });
    const [cmd, ...args] = DECOMPRESS[format]!(file) as [string, ...string[]];
    const back = await execa(cmd, args, { encoding: "buffer", stripFinalNewline: false });
    expect(Buffer.compare(Buffer.from(back.stdout), await readFile(input.files[0]!))).toBe(0);
    expect(ctx.logs().some((l) => /compress tiny\.qcow2\.\w+: done, 3\.0 MiB/.test(l))).toBe(true);
    expect((await readdir(t.dir)).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it.each(["tar.zst", "tar.gz", "tar.xz"] as const)("%s: archives every file", async (format) => {
    const input = await diskArtifact(t.dir);
    const second = join(t.dir, "-efivars.fd");
    await writeFile(second, "vars");
    const two = deriveArtifact(input, "test", { files: [...input.files, second] });
    const out = await compressPostProcessor.run(two, { type: "compress", format }, makeCtx(t.dir));
    expect(out.files).toEqual([join(t.dir, `tiny.${format}`)]);
    const x = await execa("mkdir", ["-p", join(t.dir, "x")]).then(() =>
      execa("tar", ["-x", "-a", "-f", out.files[0]!, "-C", join(t.dir, "x")]),
    );
    expect(x.exitCode).toBe(0);
    expect(await readFile(join(t.dir, "x", "-efivars.fd"), "utf8")).toBe("vars");
    expect(Buffer.compare(await readFile(join(t.dir, "x", "tiny.qcow2")), await readFile(input.files[0]!))).toBe(0);
  });

  it.each(["qcow2-zstd", "qcow2-zlib"] as const)(
    "%s: qemu-img compresses inside the qcow2, same guest data",
    async (format) => {
      const raw = join(t.dir, "disk.raw");
      await writeFile(raw, semiCompressible(4 * 1024 * 1024));
      const qcow = join(t.dir, "tiny.qcow2");
      await execa("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow]);
      const input = await diskArtifact(t.dir, 1, "unused");
      const artifact = deriveArtifact(input, "test", { files: [qcow], format: "qcow2" });
      const out = await compressPostProcessor.run(artifact, { type: "compress", format }, makeCtx(t.dir));
      const file = join(t.dir, `tiny-${format.slice(6)}.qcow2`);
      expect(out.files).toEqual([file]);
      const info = JSON.parse((await execa("qemu-img", ["info", "--output=json", file])).stdout) as {
        "format-specific": { data: { "compression-type": string } };
      };
      expect(info["format-specific"].data["compression-type"]).toBe(format.slice(6));
      expect(
        (await execa("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", raw, file], { reject: false })).exitCode,
      ).toBe(0);
    },
  );

  it("refuses several files for a single-file format, naming the fix", async () => {
    const input = await diskArtifact(t.dir);
    const two = deriveArtifact(input, "test", { files: [...input.files, join(t.dir, "b")] });
    await expect(compressPostProcessor.run(two, { type: "compress", format: "zst" }, makeCtx(t.dir))).rejects.toThrow(
      'compress: format "zst" takes one file, the artifact has 2; use "tar.zst"',
    );
  });

  it("rejects an out-of-range level", async () => {
    const input = await diskArtifact(t.dir);
    await expect(
      compressPostProcessor.run(input, { type: "compress", format: "gz", compression_level: 12 }, makeCtx(t.dir)),
    ).rejects.toThrow("compress: compression_level for gz is 1 to 9, got 12");
  });

  it("takes the format from output's extension", () => {
    const cases: Array<[string, CompressFormat | undefined]> = [
      ["a.tar.zst", "tar.zst"],
      ["a.tgz", "tar.gz"],
      ["a.xz", "xz"],
      ["a.qcow2", "qcow2-zstd"],
      ["a.bin", undefined],
    ];
    for (const [output, format] of cases) expect(formatFromOutput(output), output).toBe(format);
  });

  it("cancelled mid-way: kills zstd and leaves no output or .partial", async () => {
    const input = await diskArtifact(t.dir, 48 * 1024 * 1024);
    const controller = new AbortController();
    const ctx = makeCtx(t.dir, { signal: controller.signal });
    const config: CompressConfig = { type: "compress", format: "zst", compression_level: 19 };
    const running = compressPostProcessor.run(input, config, ctx);
    // zstd is spawned and creates its .partial soon, but not within a fixed time on a loaded machine.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20)))
      if ((await readdir(t.dir)).includes("tiny.qcow2.zst.partial")) break;
    expect(await readdir(t.dir)).toContain("tiny.qcow2.zst.partial");
    controller.abort();
    await expect(running).rejects.toThrow("build cancelled");
    expect((await readdir(t.dir)).sort()).toEqual(["tiny.qcow2"]);
    const left = await execa(
      "pgrep",
      ["-f", `zstd -T0 -19 -q -f -o ${join(t.dir, "tiny.qcow2.zst.partial")} -- ${input.files[0]}`],
      { reject: false },
    );
    expect(left.stdout).toBe("");
  });

  it("spawnToFile: hashes the output while the program writes it (stdout or -o), and names a failed write", async () => {
    const input = await diskArtifact(t.dir, 24 * 1024 * 1024);
    const signal = new AbortController().signal;
    const viaStdout = join(t.dir, "stdout.zst");
    const viaOption = join(t.dir, "option.zst");
    await writeFile(viaOption, "a stale file of an earlier run, longer than nothing");
    const a = await spawnToFile(["zstd", "-T0", "-1", "-q", "-c", "--", input.files[0]!], viaStdout, { signal });
    const b = await spawnToFile(["zstd", "-T0", "-1", "-q", "-f", "-o", viaOption, "--", input.files[0]!], viaOption, {
      signal,
      writesOutput: true,
    });
    for (const [result, file] of [
      [a, viaStdout],
      [b, viaOption],
    ] as const) {
      const written = await readFile(file);
      expect(result).toEqual({ bytes: written.length, sha256: createHash("sha256").update(written).digest("hex") });
    }
    await expect(
      spawnToFile(["zstd", "-T0", "-1", "-q", "-c", "--", input.files[0]!], "/dev/full", { signal }),
    ).rejects.toThrow(/^zstd failed \(exit code \d+\): .*No space left on device/);
    await expect(
      spawnToFile(["zstd", "-q", "-c", "--", join(t.dir, "missing")], viaStdout, { signal }),
    ).rejects.toThrow(/^zstd failed \(exit code 1\): .*missing/);
  });
});
