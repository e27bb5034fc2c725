// upload with target = "s3" against a real S3 protocol implementation started by the test:
// @20minutes/s3rver (npm; a maintained fork of `s3rver`, the fake S3 server for Node), which
// implements multipart upload for real: parts are stored on disk and joined on complete.
// No real S3-compatible server (MinIO, Ceph) installs from npm or Debian here. s3rver lacks
// AbortMultipartUpload (it answers 405), so a shim in front of it (a Koa middleware) does
// what S3 does: deletes the upload's stored parts. The same shim injects faults.
import { createHash } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "@20minutes/s3rver";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deriveArtifact } from "../../src/postprocessors/artifact.js";
import { uploadPostProcessor } from "../../src/postprocessors/upload.js";
import type { UploadConfig } from "../../src/postprocessors/types.js";
import { checkPostProcessor, postProcessorSecrets } from "../../src/postprocessors/validate.js";
import type { Problem } from "../../src/core/check-options.js";
import { diskArtifact, makeCtx, tempDir } from "./helpers.js";

const MIB = 1024 * 1024;

interface KoaCtx {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  req: import("node:http").IncomingMessage;
  status: number;
  type: string;
  body: unknown;
}
type Middleware = (ctx: KoaCtx, next: () => Promise<void>) => Promise<void>;
interface S3rverLike {
  middleware: Middleware[];
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** s3rver plus the shim: request log, AbortMultipartUpload, injected 500s, held parts. */
class Store {
  server: S3rverLike;
  requests: Array<{ method: string; path: string; part?: number; uploadId?: string }> = [];
  aborted: string[] = [];
  /** Answer this many UploadPart requests for `failPart` with 500. */
  fail = { part: 0, times: 0 };
  /** Hold (never answer) UploadPart requests with part numbers >= this. */
  holdFrom?: number;
  onHold?: (part: number) => void;
  private held: Array<() => void> = [];

  constructor(readonly dir: string) {
    const Server = S3rver as unknown as new (options: object) => S3rverLike;
    this.server = new Server({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: dir,
      configureBuckets: [{ name: "images" }],
    });
    this.server.middleware.unshift(this.shim);
  }

  async start(): Promise<string> {
    const address = await this.server.run();
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    for (const release of this.held) release();
    await this.server.close();
  }

  /** Every file s3rver has under the bucket (objects, their metadata, stored parts). */
  async files(): Promise<string[]> {
    const entries = await readdir(join(this.dir, "images"), { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(this.dir.length + 1));
  }

  private shim: Middleware = async (ctx, next) => {
    const part = ctx.query.partNumber === undefined ? undefined : Number(ctx.query.partNumber);
    this.requests.push({ method: ctx.method, path: ctx.path, part, uploadId: ctx.query.uploadId });
    if (ctx.method === "PUT" && part !== undefined && part === this.fail.part && this.fail.times > 0) {
      this.fail.times--;
      await new Promise((r) => ctx.req.resume().once("end", r));
      ctx.status = 500;
      ctx.type = "application/xml";
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>injected fault</Message></Error>';
      return;
    }
    if (ctx.method === "PUT" && part !== undefined && this.holdFrom !== undefined && part >= this.holdFrom) {
      // Read and drop the body, never answer: the part stays in flight until the client cuts it.
      ctx.req.resume();
      this.onHold?.(part);
      await new Promise<void>((r) => {
        this.held.push(r);
        ctx.req.socket.once("close", r);
      });
      ctx.status = 500;
      return;
    }
    if (ctx.method === "DELETE" && ctx.query.uploadId !== undefined) {
      // AbortMultipartUpload, which s3rver lacks: drop the upload's stored parts, as S3 does.
      const bucket = ctx.path.split("/")[1]!;
      await rm(join(this.server.store.getResourcePath(bucket, undefined, "uploads"), ctx.query.uploadId), {
        recursive: true,
        force: true,
      });
      this.aborted.push(ctx.query.uploadId);
      ctx.status = 204;
      return;
    }
    await next();
  };
}

describe("upload post-processor (s3, against @20minutes/s3rver)", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let remote: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let endpoint: string;
  const config = (over: Partial<UploadConfig> = {}): UploadConfig => ({
    type: "upload",
    target: "s3",
    bucket: "images",
    key: "{{ .Name }}/{{ .Version }}/{{ .FileName }}",
    endpoint,
    region: "us-east-1",
    access_key: "S3RVER",
    secret_key: "S3RVER",
    part_size: 5,
    queue_size: 4,
    retries: 4,
    retry_delay: 10,
    timeout: 30_000,
    ...over,
  });
  const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
  async function download(key: string): Promise<Buffer> {
    const client = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
    const out = await client.send(new GetObjectCommand({ Bucket: "images", Key: key }));
    const chunks: Buffer[] = [];
    for await (const chunk of out.Body as Readable) chunks.push(chunk as Buffer);
    client.destroy();
    return Buffer.concat(chunks);
  }

  beforeEach(async () => {
    t = await tempDir();
    remote = await tempDir();
    store = new Store(remote.dir);
    endpoint = await store.start();
  });
  afterEach(async () => {
    await store.stop();
    await t.done();
    await remote.done();
  });

  it("a 12 MiB file goes up in 3 parts of 5 MiB, byte for byte, verified by HeadObject; the ID is s3://bucket/key", async () => {
    const built = await diskArtifact(t.dir, 12 * MIB);
    const { readFile } = await import("node:fs/promises");
    const content = await readFile(built.files[0]!);
    const input = deriveArtifact(built, "checksum", { checksums: { sha256: sha256(content) } });
    const ctx = makeCtx(t.dir);
    const out = await uploadPostProcessor.run(input, config(), ctx);

    expect(out.id).toBe("s3://images/tiny/1.2.3/tiny.qcow2");
    expect(out.location).toBe(out.id);
    expect(out.files).toEqual(input.files);
    const objects = out.data.s3_objects as Array<Record<string, unknown>>;
    expect(objects[0]).toMatchObject({
      bucket: "images",
      key: "tiny/1.2.3/tiny.qcow2",
      url: `${endpoint}/images/tiny/1.2.3/tiny.qcow2`,
      size: 12 * MIB,
      parts: 3,
    });
    expect(out.data.upload_urls).toEqual(["s3://images/tiny/1.2.3/tiny.qcow2"]);

    const parts = store.requests.filter((r) => r.method === "PUT" && r.part !== undefined);
    expect(parts.map((r) => r.part).sort()).toEqual([1, 2, 3]);
    expect(sha256(await download("tiny/1.2.3/tiny.qcow2"))).toBe(sha256(content));
    expect(store.requests.map((r) => r.method)).toContain("HEAD");
    const verified = ctx.logs().find((l) => l.startsWith("upload: verified s3://images/tiny/1.2.3/tiny.qcow2"));
    // s3rver joins the parts and keeps the MD5 of the whole content as ETag, not S3's multipart form, so
    // the whole-object ETag is not compared (each part's was); size and the sha256 metadata are.
    expect(verified).toBe(`upload: verified s3://images/tiny/1.2.3/tiny.qcow2: ${12 * MIB} bytes, sha256 metadata`);
    expect(ctx.logs().some((l) => l.startsWith("upload tiny.qcow2: done, 12.0 MiB") && l.endsWith(" in 3 parts"))).toBe(
      true,
    );
    expect(store.aborted).toEqual([]);
    // No stored parts are left behind once the upload is complete.
    expect((await store.files()).filter((f) => f.includes("uploads"))).toEqual([]);
  });

  it("a part answered with 500 is sent again, and the retry is logged", async () => {
    store.fail = { part: 2, times: 1 };
    const input = await diskArtifact(t.dir, 12 * MIB);
    const ctx = makeCtx(t.dir);
    const out = await uploadPostProcessor.run(input, config(), ctx);
    expect(out.id).toBe("s3://images/tiny/1.2.3/tiny.qcow2");
    expect(ctx.logs().filter((l) => l.includes("attempt"))).toEqual([
      "upload: part 2/3: attempt 2/4 after HTTP 500 InternalError: injected fault (waited 10 ms)",
    ]);
    expect(store.requests.filter((r) => r.part === 2).length).toBe(2);
    const { readFile } = await import("node:fs/promises");
    expect(sha256(await download("tiny/1.2.3/tiny.qcow2"))).toBe(sha256(await readFile(input.files[0]!)));
    expect(ctx.logs().some((l) => l.startsWith("upload tiny.qcow2: done, 12.0 MiB"))).toBe(true);
  });

  it("a part that keeps failing aborts the multipart upload and fails naming the part", async () => {
    store.fail = { part: 3, times: 9 };
    const input = await diskArtifact(t.dir, 12 * MIB);
    const ctx = makeCtx(t.dir);
    await expect(uploadPostProcessor.run(input, config({ retries: 2 }), ctx)).rejects.toThrow(
      "upload to s3://images/tiny/1.2.3/tiny.qcow2: part 3/3: gave up after 2 attempts; last: HTTP 500 InternalError: injected fault",
    );
    expect(store.aborted.length).toBe(1);
    expect(await store.files()).toEqual([]);
  });

  it("cancelled mid-upload: in-flight parts are cut, the multipart upload is aborted, nothing is left in the bucket", async () => {
    const input = await diskArtifact(t.dir, 12 * MIB);
    const controller = new AbortController();
    store.holdFrom = 2;
    store.onHold = () => {
      if (store.requests.some((r) => r.method === "PUT" && r.part === 1)) setTimeout(() => controller.abort(), 100);
    };
    const ctx = makeCtx(t.dir, { signal: controller.signal });
    await expect(uploadPostProcessor.run(input, config({ queue_size: 2 }), ctx)).rejects.toThrow("build cancelled");
    expect(store.requests.filter((r) => r.method === "DELETE" && r.uploadId !== undefined).length).toBe(1);
    expect(store.aborted.length).toBe(1);
    expect(ctx.logs()).toContain(
      "upload: aborted the multipart upload of s3://images/tiny/1.2.3/tiny.qcow2; the store keeps none of its parts",
    );
    expect(await store.files()).toEqual([]);
    expect(store.requests.some((r) => r.method === "POST" && r.uploadId !== undefined)).toBe(false);
  });

  it("a file of one part goes up with a single PUT; wrong credentials fail at once with the store's answer", async () => {
    const input = await diskArtifact(t.dir, 1 * MIB);
    const ctx = makeCtx(t.dir);
    const out = await uploadPostProcessor.run(input, config({ key: "flat/{{ .FileName }}" }), ctx);
    expect(out.id).toBe("s3://images/flat/tiny.qcow2");
    expect(store.requests.filter((r) => r.method !== "HEAD").map((r) => [r.method, r.part])).toEqual([
      ["PUT", undefined],
    ]);
    expect(ctx.logs()).toContain(
      `upload: verified s3://images/flat/tiny.qcow2: ${MIB} bytes, ETag ${createHash("md5")
        .update(await (await import("node:fs/promises")).readFile(input.files[0]!))
        .digest("hex")} (MD5 of the content)`,
    );

    const before = store.requests.length;
    await expect(uploadPostProcessor.run(input, config({ secret_key: "wrong" }), makeCtx(t.dir))).rejects.toThrow(
      /^upload to s3:\/\/images\/tiny\/1\.2\.3\/tiny\.qcow2: PUT: HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match/,
    );
    expect(store.requests.length - before).toBe(1);
  });

  it("takes the keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and needs some", async () => {
    const input = await diskArtifact(t.dir, 64 * 1024);
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    try {
      process.env.AWS_ACCESS_KEY_ID = "S3RVER";
      process.env.AWS_SECRET_ACCESS_KEY = "S3RVER";
      const out = await uploadPostProcessor.run(
        input,
        config({ access_key: undefined, secret_key: undefined }),
        makeCtx(t.dir),
      );
      expect(out.id).toBe("s3://images/tiny/1.2.3/tiny.qcow2");
      expect(postProcessorSecrets([config({ access_key: undefined, secret_key: undefined })])).toContain("S3RVER");
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      await expect(
        uploadPostProcessor.run(input, config({ access_key: undefined, secret_key: undefined }), makeCtx(t.dir)),
      ).rejects.toThrow(
        'upload: target "s3" needs access_key and secret_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment',
      );
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });
});

describe("upload (s3) options", () => {
  const check = (raw: Record<string, unknown>) => {
    const problems: Problem[] = [];
    const config = checkPostProcessor({ type: "upload", target: "s3", ...raw }, ["post_processor", 0], "/", problems);
    return { config, messages: problems.map((p) => p.message) };
  };

  it("fills the defaults", () => {
    const { config, messages } = check({ bucket: "b" });
    expect(messages).toEqual([]);
    // key, region, part_size, queue_size and force_path_style take their defaults in upload-s3.ts
    // (so an http upload's config carries none of them).
    expect(config).toEqual({
      type: "upload",
      target: "s3",
      bucket: "b",
      retries: 4,
      retry_delay: 2000,
      timeout: 120_000,
    });
    expect(check({ bucket: "b", part_size: "8M" }).config).toMatchObject({ part_size: 8 });
  });

  it("names each mistake", () => {
    expect(check({}).messages).toEqual(['upload: target "s3" needs bucket']);
    expect(check({ bucket: "b", part_size: "4M" }).messages).toEqual([
      "upload: part_size must be at least 5M (S3's smallest part), got 4M",
    ]);
    expect(check({ bucket: "b", part_size: "6G" }).messages).toEqual([
      "upload: part_size must be at most 5G (S3's largest part), got 6144M",
    ]);
    expect(check({ bucket: "b", queue_size: 0 }).messages).toEqual(["upload: queue_size must be at least 1, got 0"]);
    expect(check({ bucket: "b", endpoint: "minio:9000" }).messages).toEqual([
      'upload: endpoint: expected an http:// or https:// URL, got "minio:9000"',
    ]);
    expect(check({ bucket: "b", access_key: "AK" }).messages).toEqual([
      "upload: access_key and secret_key go together",
    ]);
    expect(check({ bucket: "b", url: "https://x/" }).messages).toEqual(['upload: url is not used with target = "s3"']);
    const http = checkPostProcessor({ type: "upload", bucket: "b" }, [], "/", []);
    expect(http).toBeUndefined();
    const problems: Problem[] = [];
    checkPostProcessor({ type: "upload", bucket: "b" }, [], "/", problems);
    expect(problems.map((p) => p.message)).toEqual([
      'upload: target "http" needs url (where each file goes)',
      'upload: bucket is not used with target = "http"',
    ]);
  });

  it("masks secret_key and session_token", () => {
    const { config } = check({
      bucket: "b",
      access_key: "AK",
      secret_key: "SK-very-secret",
      session_token: "ST-token",
    });
    expect(postProcessorSecrets([config!])).toEqual(["SK-very-secret", "ST-token"]);
  });
});
