// Done-when 1 of the post-processors issue: the tinyos build, through the CLI, runs the
// chain checksum -> compress (zst) -> upload (http) -> manifest -> notify. The upload goes
// to a real nginx with WebDAV PUT on 127.0.0.1 (test/e2e/nginx.ts); the notify goes to a
// receiver here that checks the HMAC signature over the exact body bytes.
import { execFileSync } from "node:child_process";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildEvent } from "../../src/core/events.js";
import type { ManifestFile } from "../../src/postprocessors/manifest.js";
import { ISO, makeProject, requireFixture, runCli, waitNoQemu } from "./helpers.js";
import { requireNginx, startNginx, type RunningNginx } from "./nginx.js";

const SECRET = "e2e-hmac-s3cret";

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

/** The DevOps system's stand-in: keeps each POST's raw body and headers, answers 202. */
class Receiver {
  readonly received: { headers: IncomingHttpHeaders; body: Buffer; url: string }[] = [];
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks), url: req.url ?? "" });
        res.writeHead(202, { "content-type": "application/json" }).end('{"registered":true}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Whether `header` is `sha256=<hex HMAC-SHA256(secret, body)>`, compared in constant time. */
function validSignature(header: string | string[] | undefined, body: Buffer, secret: string): boolean {
  if (typeof header !== "string" || !header.startsWith("sha256=")) return false;
  const expected = Buffer.from(createHmac("sha256", secret).update(body).digest("hex"));
  const got = Buffer.from(header.slice("sha256=".length));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

describe("tsimg build with post-processors", () => {
  let nginx: RunningNginx;
  const receiver = new Receiver();
  let notifyUrl: string;

  beforeAll(async () => {
    requireFixture();
    requireNginx();
    nginx = await startNginx();
    notifyUrl = await receiver.start();
  });
  afterAll(async () => {
    await nginx?.stop();
    await receiver.stop();
  });

  it("checksum -> compress (zst) -> upload to nginx -> manifest -> notify", async () => {
    const project = makeProject(
      (template) => `${template}
[variables.notify_secret]
sensitive = true

[[post_processor]]
chain = "release"
type = "checksum"
checksum_types = ["sha256", "md5"]

[[post_processor]]
chain = "release"
type = "compress"
format = "zst"

[[post_processor]]
chain = "release"
type = "upload"
target = "http"
url = "${nginx.url}/images/{{ .Name }}/{{ .Version }}/{{ .FileName }}"

[[post_processor]]
chain = "release"
type = "manifest"

[[post_processor]]
chain = "release"
type = "notify"
url = "${notifyUrl}/images"
secret = "\${var.notify_secret}"
`,
    );
    const logFile = join(project.dir, "build.log");
    const { code, output } = await runCli([
      "build",
      "--json",
      "--log-file",
      logFile,
      "--var",
      `notify_secret=${SECRET}`,
      project.template,
    ]).done;
    const events = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as BuildEvent);
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    expect(events.at(-1), log || output).toMatchObject({ type: "build-end", ok: true });
    expect(code).toBe(0);
    expect(await waitNoQemu(project.vmName)).toEqual([]);

    // The post-processors ran as the build's last step, shown and timed like the others.
    expect(log).toMatch(/==> tinyos: Running post-processors\.\.\./);
    expect(log).toMatch(/steps: fetch-iso .*compact [^,]+, boot-test [^,]+, write-sbom [^,]+, post-process \d/);
    expect(
      events
        .filter((e) => e.type === "step-start")
        .map((e) => (e.type === "step-start" ? e.step : ""))
        .slice(-4),
    ).toEqual(["compact", "boot-test", "write-sbom", "post-process"]);
    for (const type of ["checksum", "compress", "upload", "manifest", "notify"])
      expect(log).toContain(`running post-processor: ${type}`);
    // The HMAC secret never reaches any output.
    expect(output).not.toContain(SECRET);
    expect(log).not.toContain(SECRET);

    // Everything finished has its final name; nothing half-written is left.
    const files = readdirSync(project.output);
    expect(files.filter((f) => f.endsWith(".partial") || f.includes(".building"))).toEqual([]);
    const disk = join(project.output, project.vmName);
    const zst = `${disk}.zst`;
    for (const name of [
      project.vmName,
      `${project.vmName}.zst`,
      "SHA256SUMS",
      "packer_tinyos_qemu_sha256.checksum",
      "packer_tinyos_qemu_md5.checksum",
      "packer-manifest.json",
    ]) {
      expect(files).toContain(name);
    }

    // sha256sum accepts SHA256SUMS, run from the output directory.
    const check = execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: project.output, encoding: "utf8" });
    expect(check).toContain(`${project.vmName}: OK`);

    // The uploaded file, read from nginx's document root, is the compressed image, and its
    // sha256 is the manifest's.
    const uploadUrl = `${nginx.url}/images/tinyos/1.0.0/${project.vmName}.zst`;
    const stored = join(nginx.root, "images/tinyos/1.0.0", `${project.vmName}.zst`);
    expect(existsSync(stored), nginx.errorLog()).toBe(true);
    const storedSha = await sha256File(stored);
    expect(storedSha).toBe(await sha256File(zst));
    const manifest = JSON.parse(readFileSync(join(project.output, "packer-manifest.json"), "utf8")) as ManifestFile;
    expect(manifest.builds).toHaveLength(1);
    const entry = manifest.builds[0]!;
    expect(manifest.last_run_uuid).toBe(entry.packer_run_uuid);
    expect(entry).toMatchObject({
      name: "tinyos",
      builder_type: "qemu",
      artifact_id: uploadUrl,
      location: uploadUrl,
      format: "qcow2.zst",
      checksums: { sha256: storedSha },
      image: { name: "tinyos", version: "1.0.0", os_type: "linux" },
      files: [{ name: zst }],
    });
    // What went into the image.
    expect(entry.inputs).toMatchObject({
      iso: { file: "tinyos.iso", sha256: await sha256File(ISO) },
      http_content: {
        "/ks/tinyos.ks": createHash("sha256")
          .update(readFileSync(join(project.dir, "kickstart/tinyos.ks")))
          .digest("hex"),
      },
      template: { file: "tinyos.toml", sha256: await sha256File(project.template) },
      tools: {
        qemu: expect.stringMatching(/^QEMU emulator version /),
        "qemu-img": expect.stringMatching(/^qemu-img version /),
      },
    });
    expect(JSON.stringify(entry.inputs)).toContain(await sha256File(join(project.dir, "images/tinyos/provisioner.sh")));

    // The receiver got one POST: the manifest entry, signed with the secret.
    expect(receiver.received).toHaveLength(1);
    const post = receiver.received[0]!;
    expect(post.url).toBe("/images");
    expect(post.headers["content-type"]).toBe("application/json");
    expect(validSignature(post.headers["x-tsimg-signature"], post.body, SECRET)).toBe(true);
    expect(validSignature(post.headers["x-tsimg-signature"], post.body, "another secret")).toBe(false);
    const notified = JSON.parse(post.body.toString("utf8")) as ManifestFile["builds"][number];
    expect(notified).toMatchObject({
      artifact_id: uploadUrl,
      checksums: { sha256: storedSha },
      image: { name: "tinyos", version: "1.0.0" },
    });
    expect(notified.inputs).toEqual(entry.inputs);

    // The artifact events: the disk (kept: checksum came first), then the chain's last artifact, at its URL.
    const artifacts = events.filter((e): e is Extract<BuildEvent, { type: "artifact" }> => e.type === "artifact");
    expect(artifacts.map((a) => ({ producer: a.producer, id: a.id, location: a.location }))).toEqual([
      { producer: "qemu", id: disk, location: undefined },
      { producer: "manifest", id: uploadUrl, location: uploadUrl },
    ]);
    expect(artifacts[1]?.files).toEqual([zst]);
    expect(artifacts[1]?.checksums?.sha256).toBe(storedSha);
  }, 600_000);
});
