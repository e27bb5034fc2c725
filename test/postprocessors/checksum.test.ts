import { createHash } from "node:crypto";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deriveArtifact } from "../../src/postprocessors/artifact.js";
import { checksumPostProcessor, hashFile } from "../../src/postprocessors/checksum.js";
import type { ChecksumConfig } from "../../src/postprocessors/types.js";
import { diskArtifact, makeCtx, tempDir } from "./helpers.js";

const config = (over: Partial<ChecksumConfig> = {}): ChecksumConfig => ({
  type: "checksum",
  checksum_types: ["sha256"],
  output: "packer_{{ .BuildName }}_{{ .BuilderType }}_{{ .ChecksumType }}.checksum",
  sha256sums: true,
  ...over,
});

describe("checksum post-processor", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (t = await tempDir()));
  afterEach(() => t.done());

  it("hashes every type in one read, matching node's one-shot hashes", async () => {
    const file = join(t.dir, "f");
    const data = Buffer.from("hello tsimg\n".repeat(100000));
    await writeFile(file, data);
    const sums = await hashFile(file, ["md5", "sha1", "sha256", "sha512"]);
    for (const type of ["md5", "sha1", "sha256", "sha512"])
      expect(sums[type]).toBe(createHash(type).update(data).digest("hex"));
  });

  it("writes Packer's hex<TAB>name lines per type and a SHA256SUMS that sha256sum -c accepts", async () => {
    const input = await diskArtifact(t.dir);
    const ctx = makeCtx(t.dir);
    const out = await checksumPostProcessor.run(input, config({ checksum_types: ["md5", "sha256"] }), ctx);
    const data = await readFile(input.files[0]!);
    const sha256 = createHash("sha256").update(data).digest("hex");
    const md5 = createHash("md5").update(data).digest("hex");
    expect(await readFile(join(t.dir, "packer_tiny_qemu_sha256.checksum"), "utf8")).toBe(`${sha256}\ttiny.qcow2\n`);
    expect(await readFile(join(t.dir, "packer_tiny_qemu_md5.checksum"), "utf8")).toBe(`${md5}\ttiny.qcow2\n`);
    expect(out.checksums).toEqual({ md5, sha256 });
    expect(out.files).toEqual(input.files);
    expect(out.records).toContain(join(t.dir, "SHA256SUMS"));
    const check = await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: t.dir, reject: false });
    expect(check.stdout).toBe("tiny.qcow2: OK");
    expect(check.exitCode).toBe(0);
    expect((await readdir(t.dir)).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it("puts every type into one file when output has no {{ .ChecksumType }}", async () => {
    const input = await diskArtifact(t.dir);
    await checksumPostProcessor.run(
      input,
      config({ checksum_types: ["sha1", "sha512"], output: "sums.txt", sha256sums: false }),
      makeCtx(t.dir),
    );
    const data = await readFile(input.files[0]!);
    const hex = (type: string) => createHash(type).update(data).digest("hex");
    expect(await readFile(join(t.dir, "sums.txt"), "utf8")).toBe(
      `${hex("sha1")}\ttiny.qcow2\n${hex("sha512")}\ttiny.qcow2\n`,
    );
    expect(await readdir(t.dir)).not.toContain("SHA256SUMS");
  });

  // sha256sum -c also fails when SHA256SUMS is missing or empty: only its words prove it compared.
  it("sha256sum -c detects a changed file (the test can fail)", async () => {
    const input = await diskArtifact(t.dir);
    await checksumPostProcessor.run(input, config(), makeCtx(t.dir));
    const sha256 = createHash("sha256")
      .update(await readFile(input.files[0]!))
      .digest("hex");
    expect(await readFile(join(t.dir, "SHA256SUMS"), "utf8")).toBe(`${sha256}  tiny.qcow2\n`);
    await writeFile(input.files[0]!, "tampered");
    const check = await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: t.dir, reject: false, env: { LC_ALL: "C" } });
    expect(check.stdout).toBe("tiny.qcow2: FAILED");
    expect(check.stderr).toBe("sha256sum: WARNING: 1 computed checksum did NOT match");
    expect(check.exitCode).toBe(1);
  });

  it("lists every file of a multi-file artifact", async () => {
    const input = await diskArtifact(t.dir);
    const second = join(t.dir, "efivars.fd");
    await writeFile(second, "vars");
    const two = deriveArtifact(input, "test", { files: [...input.files, second] });
    await checksumPostProcessor.run(two, config(), makeCtx(t.dir));
    const check = await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: t.dir });
    expect(check.stdout.split("\n")).toEqual(["tiny.qcow2: OK", "efivars.fd: OK"]);
  });
});
