// The e2e tests' nginx (test/e2e/nginx.ts) on its own, without QEMU: the upload
// post-processor PUTs a file to it, the size check (HEAD) passes, and the bytes on disk
// and served back are the ones sent. Skipped where nginx is not installed, except in CI.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uploadPostProcessor } from "../../src/postprocessors/upload.js";
import { NGINX, startNginx, type RunningNginx } from "../e2e/nginx.js";
import { diskArtifact, makeCtx, tempDir } from "./helpers.js";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe.skipIf(!existsSync(NGINX) && !process.env.CI)("nginx with WebDAV PUT (test/e2e/nginx.ts)", () => {
  let nginx: RunningNginx;
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    nginx = await startNginx();
    t = await tempDir();
  });
  afterAll(async () => {
    await nginx?.stop();
    await t?.done();
  });

  it("stores what the upload post-processor PUTs, under a new directory, and serves it back", async () => {
    const input = await diskArtifact(t.dir, 3 * 1024 * 1024 + 17);
    const ctx = makeCtx(t.dir);
    const out = await uploadPostProcessor.run(
      input,
      {
        type: "upload",
        target: "http",
        url: `${nginx.url}/images/{{ .Name }}/{{ .Version }}/{{ .FileName }}`,
        retries: 1,
        retry_delay: 10,
        timeout: 10_000,
      },
      ctx,
    );
    const url = `${nginx.url}/images/tiny/1.2.3/tiny.qcow2`;
    expect(out.id).toBe(url);
    expect(out.location).toBe(url);
    expect(ctx.logs()).toContain(`upload: verified ${url} has ${3 * 1024 * 1024 + 17} bytes`);

    const sent = await readFile(join(t.dir, "tiny.qcow2"));
    const stored = await readFile(join(nginx.root, "images/tiny/1.2.3/tiny.qcow2"));
    expect(sha256(stored)).toBe(sha256(sent));
    const served = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(sha256(served)).toBe(sha256(sent));
  });

  it("answers DELETE, and 404 for what is not there", async () => {
    const put = await fetch(`${nginx.url}/x/y.txt`, { method: "PUT", body: "hello" });
    expect(put.status).toBe(201);
    expect((await fetch(`${nginx.url}/x/y.txt`, { method: "DELETE" })).status).toBe(204);
    expect((await fetch(`${nginx.url}/x/y.txt`)).status).toBe(404);
    expect(existsSync(join(nginx.root, "x/y.txt"))).toBe(false);
  });
});
