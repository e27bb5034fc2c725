import { createHash } from "node:crypto";
import { createWriteStream, openSync } from "node:fs";
import { readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { uploadPostProcessor } from "../../src/postprocessors/upload.js";
import type { UploadConfig } from "../../src/postprocessors/types.js";
import { diskArtifact, makeCtx, tempDir } from "./helpers.js";

/** A WebDAV-like store: PUT writes <name>.partial and renames it when the body is complete. */
class Store {
  server!: Server;
  /** Status codes to answer PUTs with, in order (then 201). */
  script: number[] = [];
  requests: Array<{ method: string; url: string; auth?: string }> = [];
  /** Stop reading the body after this many bytes (to hold an upload mid-way). */
  stallAfter?: number;
  onStall?: () => void;
  onCut?: () => void;
  constructor(readonly dir: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
    const file = join(this.dir, decodeURIComponent(req.url!.split("/").pop()!));
    if (req.method === "HEAD") {
      const size = await stat(file).then(
        (s) => s.size,
        () => undefined,
      );
      res.writeHead(size === undefined ? 404 : 200, size === undefined ? {} : { "content-length": size }).end();
      return;
    }
    const status = this.script.shift() ?? 201;
    if (status === 403) {
      res.writeHead(403, "Forbidden").end("  no write access to\n repository raw-images  ");
      req.resume();
      return;
    }
    if (status >= 500) {
      req.resume();
      req.on("end", () => res.writeHead(status).end("try later"));
      return;
    }
    const partial = `${file}.partial`;
    // Opened synchronously, so a cancel cannot race the file's creation.
    const out = createWriteStream(partial, { fd: openSync(partial, "w") });
    let seen = 0;
    if (this.stallAfter !== undefined) {
      // Hold the upload: keep the first bytes, never answer, and let the test cancel. (Reading
      // goes on, discarding, because a paused socket would not notice the client hanging up.)
      req.on("data", (chunk: Buffer) => {
        if (seen >= this.stallAfter!) return;
        out.write(chunk);
        seen += chunk.length;
        if (seen >= this.stallAfter!) this.onStall?.();
      });
    } else req.pipe(out);
    // A cut connection (the client cancelled) leaves nothing behind, not even the partial.
    out.on("error", () => undefined);
    req.socket.once("close", () => {
      if (req.complete && this.stallAfter === undefined) return;
      req.unpipe(out);
      out.destroy();
      // Remove the partial once the stream has let go of it (close), or shortly after at the latest.
      const cleanup = () => void rm(partial, { force: true }).then(() => this.onCut?.());
      out.once("close", cleanup);
      setTimeout(cleanup, 200);
    });
    out.on("finish", async () => {
      if (!req.complete) return;
      await rename(partial, file);
      res.writeHead(201, "Created").end();
    });
  }
}

describe("upload post-processor (http)", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let remote: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let base: string;
  const config = (over: Partial<UploadConfig> = {}): UploadConfig => ({
    type: "upload",
    target: "http",
    url: `${base}/repo/{{ .Name }}-{{ .Version }}-{{ .FileName }}`,
    retries: 4,
    retry_delay: 10,
    timeout: 5000,
    ...over,
  });
  beforeEach(async () => {
    t = await tempDir();
    remote = await tempDir();
    store = new Store(remote.dir);
    base = await store.start();
  });
  afterEach(async () => {
    await store.stop();
    await t.done();
    await remote.done();
  });

  it("streams the file with PUT, verifies its size by HEAD, and the URL becomes the artifact ID", async () => {
    const input = await diskArtifact(t.dir, 5 * 1024 * 1024);
    const ctx = makeCtx(t.dir);
    const out = await uploadPostProcessor.run(input, config({ username: "ci", password: "s3cret" }), ctx);
    const url = `${base}/repo/tiny-1.2.3-tiny.qcow2`;
    expect(out.id).toBe(url);
    expect(out.location).toBe(url);
    expect(out.files).toEqual(input.files);
    const sent = await readFile(join(remote.dir, "tiny-1.2.3-tiny.qcow2"));
    expect(createHash("sha256").update(sent).digest("hex")).toBe(
      createHash("sha256")
        .update(await readFile(input.files[0]!))
        .digest("hex"),
    );
    expect(store.requests.map((r) => r.method)).toEqual(["PUT", "HEAD"]);
    expect(store.requests[0]!.auth).toBe(`Basic ${Buffer.from("ci:s3cret").toString("base64")}`);
    expect(ctx.logs()).toContain(`upload: verified ${url} has ${5 * 1024 * 1024} bytes`);
    expect(ctx.logs().some((l) => l.startsWith("upload tiny.qcow2: done, 5.0 MiB"))).toBe(true);
  });

  it("retries 500, 500 then succeeds on 201, and logs each retry", async () => {
    store.script = [500, 500];
    const input = await diskArtifact(t.dir);
    const ctx = makeCtx(t.dir);
    const out = await uploadPostProcessor.run(input, config({ token: "tok123" }), ctx);
    expect(out.id).toBe(`${base}/repo/tiny-1.2.3-tiny.qcow2`);
    const retries = ctx.logs().filter((l) => l.includes("attempt"));
    expect(retries).toEqual([
      "upload: attempt 2/4 after HTTP 500 Internal Server Error (waited 10 ms)",
      "upload: attempt 3/4 after HTTP 500 Internal Server Error (waited 20 ms)",
    ]);
    expect(store.requests.filter((r) => r.method === "PUT").map((r) => r.auth)).toEqual([
      "Bearer tok123",
      "Bearer tok123",
      "Bearer tok123",
    ]);
  });

  it("gives up after the last attempt, naming the last answer", async () => {
    store.script = [503, 503];
    const input = await diskArtifact(t.dir);
    await expect(uploadPostProcessor.run(input, config({ retries: 2 }), makeCtx(t.dir))).rejects.toThrow(
      `upload to ${base}/repo/tiny-1.2.3-tiny.qcow2: gave up after 2 attempts; last: HTTP 503 Service Unavailable`,
    );
  });

  it("fails at once on 403 with the server's message", async () => {
    store.script = [403];
    const input = await diskArtifact(t.dir);
    const ctx = makeCtx(t.dir);
    await expect(uploadPostProcessor.run(input, config(), ctx)).rejects.toThrow(
      `upload to ${base}/repo/tiny-1.2.3-tiny.qcow2: HTTP 403 Forbidden: no write access to repository raw-images`,
    );
    expect(store.requests.length).toBe(1);
  });

  it("cancelled mid-upload: the connection is cut and no finished-looking file exists anywhere", async () => {
    const input = await diskArtifact(t.dir, 16 * 1024 * 1024);
    const controller = new AbortController();
    store.stallAfter = 2 * 1024 * 1024;
    store.onStall = () => controller.abort();
    const cut = new Promise<void>((r) => (store.onCut = r));
    const running = uploadPostProcessor.run(input, config(), makeCtx(t.dir, { signal: controller.signal }));
    await expect(running).rejects.toThrow("build cancelled");
    await cut;
    for (let i = 0; i < 30 && (await readdir(remote.dir)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await readdir(remote.dir)).toEqual([]);
    expect((await readdir(t.dir)).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it("needs {{ .FileName }} for several files", async () => {
    const input = await diskArtifact(t.dir);
    const two = { ...input, files: [...input.files, join(t.dir, "x")] };
    await expect(uploadPostProcessor.run(two, config({ url: `${base}/a` }), makeCtx(t.dir))).rejects.toThrow(
      "url needs {{ .FileName }}",
    );
  });
});
