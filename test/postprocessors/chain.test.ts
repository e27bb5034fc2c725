import { createHash } from "node:crypto";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runPostProcessorChains } from "../../src/postprocessors/chain.js";
import { shellLocalPostProcessor } from "../../src/postprocessors/shell-local.js";
import type { ManifestFile } from "../../src/postprocessors/manifest.js";
import type { PostProcessorConfig, ShellLocalConfig } from "../../src/postprocessors/types.js";
import { checkPostProcessor } from "../../src/postprocessors/validate.js";
import type { Problem } from "../../src/core/check-options.js";
import { diskArtifact, makeCtx, tempDir } from "./helpers.js";

const shell = (over: Partial<ShellLocalConfig>): ShellLocalConfig => ({
  type: "shell-local",
  inline_shebang: "/bin/sh -e",
  environment_vars: [],
  valid_exit_codes: [0],
  ...over,
});

describe("shell-local post-processor", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (t = await tempDir()));
  afterEach(() => t.done());

  it("gets the artifact's paths, data and image metadata in its environment; output streams as events", async () => {
    const input = await diskArtifact(t.dir);
    const ctx = makeCtx(t.dir);
    const script = [
      'echo "A=$TSIMG_ARTIFACT"',
      'echo "N=$PACKER_BUILD_NAME V=$TSIMG_IMAGE_VERSION OS=$TSIMG_IMAGE_OS_TYPE X=$EXTRA"',
      'echo "F=$TSIMG_ARTIFACT_FORMAT" >&2',
    ];
    const out = await shellLocalPostProcessor.run(
      input,
      shell({ inline: script, environment_vars: ["EXTRA=yes=really"] }),
      ctx,
    );
    expect(out).toBe(input);
    const lines = ctx.recorded.flatMap((e) => (e.type === "output" ? [`${e.stream}:${e.line}`] : []));
    expect(lines).toEqual([
      `stdout:A=${join(t.dir, "tiny.qcow2")}`,
      "stdout:N=tiny V=1.2.3 OS=linux X=yes=really",
      "stderr:F=qcow2",
    ]);
  });

  it("fails with the exit code, and runs a script file", async () => {
    const input = await diskArtifact(t.dir);
    const path = join(t.dir, "post.sh");
    await writeFile(path, "echo from script; exit 3\n");
    await expect(shellLocalPostProcessor.run(input, shell({ script: path }), makeCtx(t.dir))).rejects.toThrow(
      `shell-local: ${path} exited with code 3 (valid_exit_codes: 0)`,
    );
    await shellLocalPostProcessor.run(input, shell({ script: path, valid_exit_codes: [0, 3] }), makeCtx(t.dir));
  });
});

describe("post-processor chains", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let server: Server;
  let base: string;
  const stored = new Map<string, Buffer>();
  const notified: unknown[] = [];
  beforeEach(async () => {
    t = await tempDir();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.method === "PUT") stored.set(req.url!, Buffer.concat(chunks));
        if (req.method === "POST") notified.push(JSON.parse(Buffer.concat(chunks).toString()));
        if (req.method === "HEAD") res.writeHead(200, { "content-length": stored.get(req.url!)?.length ?? 0 }).end();
        else res.writeHead(req.method === "PUT" ? 201 : 204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await t.done();
  });

  it("checksum -> compress(zst) -> upload -> manifest -> notify: uploaded sha256 equals the manifest's; sha256sum -c passes", async () => {
    const input = await diskArtifact(t.dir, 2 * 1024 * 1024);
    const chain: PostProcessorConfig[] = [
      {
        type: "checksum",
        checksum_types: ["sha256"],
        output: "packer_{{ .BuildName }}_{{ .BuilderType }}_{{ .ChecksumType }}.checksum",
        sha256sums: true,
      },
      { type: "compress", format: "zst" },
      {
        type: "upload",
        target: "http",
        url: `${base}/raw/{{ .Name }}/{{ .Version }}/{{ .FileName }}`,
        retries: 2,
        retry_delay: 10,
        timeout: 5000,
      },
      { type: "manifest", output: "packer-manifest.json", strip_path: true, strip_time: false },
      { type: "notify", url: `${base}/hook`, secret: "s3cret", retries: 2, retry_delay: 10, timeout: 5000 },
    ];
    const ctx = makeCtx(t.dir);
    const { finals, keptBuilderArtifact } = await runPostProcessorChains(input, [chain], ctx);
    const final = finals[0]!;
    expect(keptBuilderArtifact).toBe(true);
    expect(final.id).toBe(`${base}/raw/tiny/1.2.3/tiny.qcow2.zst`);
    const uploaded = stored.get("/raw/tiny/1.2.3/tiny.qcow2.zst")!;
    const manifest = JSON.parse(await readFile(join(t.dir, "packer-manifest.json"), "utf8")) as ManifestFile;
    expect(manifest.builds[0]!.checksums.sha256).toBe(createHash("sha256").update(uploaded).digest("hex"));
    expect(manifest.builds[0]!.artifact_id).toBe(final.id);
    expect(notified).toHaveLength(1);
    expect((await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: t.dir })).stdout).toBe("tiny.qcow2: OK");
    // checksum keeps its input (forced), so the builder's disk stays beside the .zst.
    expect((await readdir(t.dir)).sort()).toEqual([
      "SHA256SUMS",
      "packer-manifest.json",
      "packer_tiny_qemu_sha256.checksum",
      "tiny.qcow2",
      "tiny.qcow2.zst",
    ]);
  });

  it("keep_input_artifact: compress first in the only chain deletes the builder's disk (Packer), unless kept", async () => {
    const input = await diskArtifact(t.dir);
    await runPostProcessorChains(input, [[{ type: "compress", format: "zst" }]], makeCtx(t.dir));
    expect(await readdir(t.dir)).toEqual(["tiny.qcow2.zst"]);

    const again = await diskArtifact(t.dir);
    await runPostProcessorChains(
      again,
      [[{ type: "compress", format: "gz", keep_input_artifact: true }]],
      makeCtx(t.dir),
    );
    expect((await readdir(t.dir)).sort()).toEqual(["tiny.qcow2", "tiny.qcow2.gz", "tiny.qcow2.zst"]);
  });

  it("keep_input_artifact = false on a later post-processor deletes the intermediate file; the default keeps it", async () => {
    const input = await diskArtifact(t.dir);
    const chain = (keep?: boolean): PostProcessorConfig[] => [
      { type: "compress", format: "zst", keep_input_artifact: true },
      { type: "compress", format: "tar.xz", output: "bundle.tar.xz", keep_input_artifact: keep },
    ];
    await runPostProcessorChains(input, [chain(false)], makeCtx(t.dir));
    expect((await readdir(t.dir)).sort()).toEqual(["bundle.tar.xz", "tiny.qcow2"]);
    const x = await execa("tar", ["-t", "-f", join(t.dir, "bundle.tar.xz")]);
    expect(x.stdout).toBe("./tiny.qcow2.zst");
  });

  it("names the failing post-processor, keeps the disk, and still runs the other chains", async () => {
    const input = await diskArtifact(t.dir);
    const ctx = makeCtx(t.dir);
    const chains: PostProcessorConfig[][] = [
      [
        { type: "compress", format: "zst" },
        { type: "compress", format: "gz", compression_level: 42 },
      ],
      [{ type: "manifest", output: "m.json", strip_path: true, strip_time: true }],
    ];
    await expect(runPostProcessorChains(input, chains, ctx)).rejects.toThrow(
      "chain 1, post-processor 2 (compress) failed: compress: compression_level for gz is 1 to 9, got 42",
    );
    expect((await readdir(t.dir)).sort()).toEqual(["m.json", "tiny.qcow2", "tiny.qcow2.zst"]);
  });
});

describe("post-processor config validation", () => {
  const check = (raw: Record<string, unknown>) => {
    const problems: Problem[] = [];
    const config = checkPostProcessor(raw, ["post_processor", 0], "/tmpl", problems);
    return { config, messages: problems.map((p) => p.message) };
  };

  it("fills defaults and converts durations", () => {
    expect(check({ type: "upload", url: "https://nexus/x/{{ .FileName }}", timeout: "30s" }).config).toEqual({
      type: "upload",
      target: "http",
      url: "https://nexus/x/{{ .FileName }}",
      retries: 4,
      retry_delay: 2000,
      timeout: 30000,
    });
    expect(check({ type: "checksum" }).config).toMatchObject({ checksum_types: ["sha256"], sha256sums: true });
  });

  it.each([
    [
      { type: "checksumm" },
      'type: expected one of "checksum", "compress", "manifest", "shell-local", "upload", "notify", got "checksumm"; did you mean "checksum"?',
    ],
    [
      { type: "checksum", checksum_types: ["sha256", "crc32"] },
      'checksum_types: expected any of md5, sha1, sha224, sha256, sha384, sha512, got "crc32"',
    ],
    [
      { type: "compress", format: "zip" },
      'format: expected one of "zst", "gz", "xz", "tar.zst", "tar.gz", "tar.xz", "qcow2-zstd", "qcow2-zlib", got "zip" (string)',
    ],
    [
      { type: "shell-local", inline: ["x"], script: "a.sh" },
      "shell-local needs exactly one of inline, script, scripts; got inline and script",
    ],
    [{ type: "upload", url: "ftp://x" }, 'url: expected an http:// or https:// URL, got "ftp://x"'],
    [
      { type: "upload", url: "http://x", token: "t", username: "u" },
      "upload: use either token or username/password, not both",
    ],
    [
      { type: "notify" },
      'missing required key "url" (Receives a POST of the artifact\'s manifest entry as JSON (image metadata, artifact ID, files, checksums, size, inputs, lineage))',
    ],
  ])("%j -> %s", (raw, message) => {
    const { config, messages } = check(raw);
    expect(config).toBeUndefined();
    expect(messages).toContain(message);
  });
});
