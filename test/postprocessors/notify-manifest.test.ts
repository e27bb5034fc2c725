import { createHmac, timingSafeEqual } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deriveArtifact } from "../../src/postprocessors/artifact.js";
import { manifestPostProcessor, type ManifestFile } from "../../src/postprocessors/manifest.js";
import { notifyPostProcessor } from "../../src/postprocessors/notify.js";
import type { ManifestConfig, NotifyConfig } from "../../src/postprocessors/types.js";
import { diskArtifact, makeCtx, tempDir } from "./helpers.js";

const SECRET = "hook-secret-123";

/** The DevOps system: checks the signature over the raw body, then answers per `script`. */
class Receiver {
  server!: Server;
  script: number[] = [];
  received: Array<{ body: unknown; signatureOk: boolean }> = [];
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks);
        const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(raw).digest("hex")}`);
        const got = Buffer.from(String(req.headers["x-tsimg-signature"] ?? ""));
        const signatureOk = got.length === expected.length && timingSafeEqual(got, expected);
        this.received.push({ body: JSON.parse(raw.toString("utf8")), signatureOk });
        const status = this.script.shift() ?? (signatureOk ? 202 : 401);
        res.writeHead(status).end(status === 422 ? '{"error":"image version 1.2.3 already registered"}' : "");
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/images`;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe("notify post-processor", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let receiver: Receiver;
  let url: string;
  const config = (over: Partial<NotifyConfig> = {}): NotifyConfig => ({
    type: "notify",
    url,
    secret: SECRET,
    retries: 3,
    retry_delay: 5,
    timeout: 5000,
    ...over,
  });
  beforeEach(async () => {
    t = await tempDir();
    receiver = new Receiver();
    url = await receiver.start();
  });
  afterEach(async () => {
    await receiver.stop();
    await t.done();
  });

  it("POSTs the manifest entry with a valid HMAC-SHA256 signature", async () => {
    const input = deriveArtifact(await diskArtifact(t.dir), "upload", {
      id: "http://store/tiny.qcow2",
      location: "http://store/tiny.qcow2",
      checksums: { sha256: "ab".repeat(32) },
    });
    const ctx = makeCtx(t.dir, { inputs: { template_sha256: "x", iso_checksum: "sha256:y" } });
    const out = await notifyPostProcessor.run(input, config(), ctx);
    expect(out).toBe(input);
    expect(receiver.received).toHaveLength(1);
    const { body, signatureOk } = receiver.received[0]!;
    expect(signatureOk).toBe(true);
    expect(body).toMatchObject({
      name: "tiny",
      builder_type: "qemu",
      artifact_id: "http://store/tiny.qcow2",
      image: { name: "tiny", version: "1.2.3", os_type: "linux" },
      checksums: { sha256: "ab".repeat(32) },
      size: 1024 * 1024,
      inputs: { iso_checksum: "sha256:y", template_sha256: "x" },
      lineage: null,
    });
  });

  it("a wrong secret is refused by the receiver (the signature check can fail)", async () => {
    const input = await diskArtifact(t.dir);
    await expect(notifyPostProcessor.run(input, config({ secret: "wrong-secret" }), makeCtx(t.dir))).rejects.toThrow(
      `notify ${url}: HTTP 401 Unauthorized`,
    );
    expect(receiver.received[0]!.signatureOk).toBe(false);
  });

  it("retries 502 then succeeds; fails at once on 422 with the server's answer", async () => {
    const input = await diskArtifact(t.dir);
    receiver.script = [502];
    const ctx = makeCtx(t.dir);
    await notifyPostProcessor.run(input, config(), ctx);
    expect(ctx.logs()).toContain("notify: attempt 2/3 after HTTP 502 Bad Gateway (waited 5 ms)");
    receiver.script = [422];
    await expect(notifyPostProcessor.run(input, config(), ctx)).rejects.toThrow(
      `notify ${url}: HTTP 422 Unprocessable Entity: {"error":"image version 1.2.3 already registered"}`,
    );
    expect(receiver.received).toHaveLength(3);
  });

  it("retries a refused connection, then gives up", async () => {
    const input = await diskArtifact(t.dir);
    await receiver.stop();
    const ctx = makeCtx(t.dir);
    await expect(notifyPostProcessor.run(input, config({ retries: 2 }), ctx)).rejects.toThrow(
      /gave up after 2 attempts; last: connect ECONNREFUSED/,
    );
    receiver = new Receiver();
    url = await receiver.start();
  });
});

describe("manifest post-processor", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (t = await tempDir()));
  afterEach(() => t.done());
  const config = (over: Partial<ManifestConfig> = {}): ManifestConfig => ({
    type: "manifest",
    output: "packer-manifest.json",
    strip_path: false,
    strip_time: false,
    ...over,
  });
  const read = async () => JSON.parse(await readFile(join(t.dir, "packer-manifest.json"), "utf8")) as ManifestFile;

  it("writes Packer's fields plus image, checksums, inputs and lineage", async () => {
    const base = await diskArtifact(t.dir);
    const input = deriveArtifact(base, "test", {
      lineage: { base_image: "/isos/base.qcow2", base_checksum: "sha256:00" },
    });
    const ctx = makeCtx(t.dir, { inputs: { b: 1, a: { z: 1, y: 2 } } });
    const before = Math.floor(Date.now() / 1000);
    const out = await manifestPostProcessor.run(input, config({ custom_data: { team: "infra" } }), ctx);
    const manifest = await read();
    expect(manifest.last_run_uuid).toBe(ctx.build.runUuid);
    const entry = manifest.builds[0]!;
    expect(Object.keys(entry).slice(0, 7)).toEqual([
      "name",
      "builder_type",
      "build_time",
      "files",
      "artifact_id",
      "packer_run_uuid",
      "custom_data",
    ]);
    expect(entry).toMatchObject({
      name: "tiny",
      builder_type: "qemu",
      files: [{ name: join(t.dir, "tiny.qcow2"), size: 1024 * 1024 }],
      artifact_id: join(t.dir, "tiny.qcow2"),
      packer_run_uuid: ctx.build.runUuid,
      custom_data: { team: "infra" },
      lineage: { base_checksum: "sha256:00", base_image: "/isos/base.qcow2" },
    });
    expect(entry.build_time).toBeGreaterThanOrEqual(before);
    expect(JSON.stringify(entry.inputs)).toBe('{"a":{"y":2,"z":1},"b":1}');
    expect(out.records).toContain(join(t.dir, "packer-manifest.json"));
  });

  it("appends builds like Packer; --force drops earlier runs' entries", async () => {
    const input = await diskArtifact(t.dir);
    await manifestPostProcessor.run(input, config({ strip_path: true }), makeCtx(t.dir));
    const second = makeCtx(t.dir);
    await manifestPostProcessor.run(input, config({ strip_path: true, strip_time: true }), second);
    let manifest = await read();
    expect(manifest.builds).toHaveLength(2);
    expect(manifest.builds[1]!.files).toEqual([{ name: "tiny.qcow2", size: 1024 * 1024 }]);
    expect(manifest.builds[1]!.build_time).toBeUndefined();
    expect(manifest.last_run_uuid).toBe(second.build.runUuid);
    // Same run (parallel builds of one `tsimg build --force`): entries accumulate.
    await manifestPostProcessor.run(input, config(), { ...second, force: true });
    expect((await read()).builds).toHaveLength(3);
    await manifestPostProcessor.run(input, config(), makeCtx(t.dir, { force: true }));
    manifest = await read();
    expect(manifest.builds).toHaveLength(1);
  });

  it("gives identical inputs for identical inputs, whatever the key order", async () => {
    const input = await diskArtifact(t.dir);
    await manifestPostProcessor.run(
      input,
      config(),
      makeCtx(t.dir, {
        inputs: {
          tools: { qemu: "7.2", tsimg: "0.1.0" },
          iso_checksum: "sha256:1",
          scripts: { "b.sh": "2", "a.sh": "1" },
        },
      }),
    );
    await manifestPostProcessor.run(
      input,
      config(),
      makeCtx(t.dir, {
        inputs: {
          scripts: { "a.sh": "1", "b.sh": "2" },
          iso_checksum: "sha256:1",
          tools: { tsimg: "0.1.0", qemu: "7.2" },
        },
      }),
    );
    await manifestPostProcessor.run(
      input,
      config(),
      makeCtx(t.dir, {
        inputs: {
          scripts: { "a.sh": "1", "b.sh": "3" },
          iso_checksum: "sha256:1",
          tools: { tsimg: "0.1.0", qemu: "7.2" },
        },
      }),
    );
    const [a, b, c] = (await read()).builds.map((e) => JSON.stringify(e.inputs));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it("refuses to overwrite a manifest that is not JSON", async () => {
    await writeFile(join(t.dir, "packer-manifest.json"), "{ not json");
    const input = await diskArtifact(t.dir);
    await expect(manifestPostProcessor.run(input, config(), makeCtx(t.dir))).rejects.toThrow(
      /packer-manifest\.json is not valid JSON/,
    );
  });
});
