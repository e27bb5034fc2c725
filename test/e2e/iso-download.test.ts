// Issue 4, done-when 2: the ISO comes over HTTP from a local server into the cache and is
// verified; a wrong checksum fails with both sums; a second build makes no request at all;
// a truncated download is not used. Real builds (library API, TCG): the VM boots the ISO's
// menu entry with tinyos.poweroff, so each build is seconds, not a whole install.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, type BuildEvent } from "../../src/index.js";
import { loadTemplate } from "../../src/builder/load-template.js";
import { ISO, qemuPids, requireFixture } from "./helpers.js";

let server: Server;
let base: string;
const requests: string[] = [];
let truncate = false;
let isoBytes: Buffer;
let sha256: string;

beforeAll(async () => {
  requireFixture();
  isoBytes = readFileSync(ISO);
  sha256 = createHash("sha256").update(isoBytes).digest("hex");
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ""}`);
    if (req.url !== "/isos/tinyos.iso") return void res.writeHead(404).end();
    if (truncate) {
      // Announce the whole ISO, send a third, hang up: every attempt breaks off.
      res.writeHead(200, { "Content-Length": isoBytes.length });
      return void res.write(isoBytes.subarray(0, isoBytes.length / 3), () => res.destroy());
    }
    res.writeHead(200, { "Content-Length": isoBytes.length }).end(isoBytes);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A template that boots the ISO over HTTP and powers off from its boot menu. */
function project(checksum: string): { template: string; output: string; vmName: string } {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-e2e-dl-"));
  const vmName = `e2e-dl-${Math.random().toString(36).slice(2, 10)}.qcow2`;
  writeFileSync(
    join(dir, "download.toml"),
    `[image]
name = "download"

[source]
iso_url = "${base}/isos/tinyos.iso"
iso_checksum = "${checksum}"
vm_name = "${vmName}"
output_directory = "${join(dir, "output")}"
accelerator = "tcg"
headless = true
disk_size = "64M"
communicator = "none"
boot_wait = "1s"
boot_command = ["<tab> tinyos.poweroff console=ttyS0<enter>"]
shutdown_timeout = "2m"
`,
  );
  return { template: join(dir, "download.toml"), output: join(dir, "output"), vmName };
}

async function run(checksum: string, cacheDir: string) {
  const p = project(checksum);
  const events: BuildEvent[] = [];
  const result = await build(loadTemplate(p.template), { cacheDir, onEvent: (e) => events.push(e) });
  const log = events.flatMap((e) => (e.type === "log" ? [e.message] : []));
  const serial = events.flatMap((e) => (e.type === "serial" ? [e.line] : []));
  return { result, log, serial, ...p };
}

describe("ISO over HTTP", () => {
  it("downloads into the cache, verifies it and builds; a second build makes no request at all", async () => {
    const cache = mkdtempSync(join(tmpdir(), "tsimg-cache-"));
    requests.length = 0;
    const first = await run(`sha256:${sha256}`, cache);
    expect(first.result.error?.message).toBeUndefined();
    expect(first.result.ok).toBe(true);
    expect(requests).toEqual(["GET /isos/tinyos.iso"]);
    const cached = join(cache, "downloads", `sha256-${sha256}`, "tinyos.iso");
    expect(createHash("sha256").update(readFileSync(cached)).digest("hex")).toBe(sha256);
    expect(first.log).toContain("sha256 of tinyos.iso matches");
    // QEMU really booted the downloaded ISO.
    expect(first.serial.some((l) => l.startsWith("TSIMG-MARK poweroff-requested"))).toBe(true);
    expect(existsSync(join(first.output, first.vmName))).toBe(true);

    const second = await run(`sha256:${sha256}`, cache);
    expect(second.result.ok).toBe(true);
    expect(requests).toEqual(["GET /isos/tinyos.iso"]);
    expect(second.log.some((l) => l.includes("was verified before and has not changed since"))).toBe(true);
  }, 300_000);

  it("a wrong checksum fails with both sums shown, and starts no VM", async () => {
    const cache = mkdtempSync(join(tmpdir(), "tsimg-cache-"));
    const wrong = "ab".repeat(32);
    const failed = await run(`sha256:${wrong}`, cache);
    expect(failed.result.ok).toBe(false);
    expect(failed.result.error?.message).toContain(`expected sha256:${wrong}, got sha256:${sha256}`);
    expect(qemuPids(failed.vmName)).toEqual([]);
    expect(existsSync(failed.output)).toBe(false);
    expect(readdirSync(join(cache, "downloads", `sha256-${wrong}`))).toEqual([]);
  }, 120_000);

  it("a truncated download is not used: the build fails before QEMU starts", async () => {
    const cache = mkdtempSync(join(tmpdir(), "tsimg-cache-"));
    truncate = true;
    try {
      const failed = await run(`sha256:${sha256}`, cache);
      expect(failed.result.ok).toBe(false);
      expect(failed.result.error?.message).toMatch(
        /^cannot download http:\/\/127\.0\.0\.1:\d+\/isos\/tinyos\.iso: the transfer broke off after \d+ of \d+ bytes/,
      );
      expect(readdirSync(join(cache, "downloads", `sha256-${sha256}`))).toEqual(["tinyos.iso.part"]);
      expect(qemuPids(failed.vmName)).toEqual([]);
      expect(existsSync(failed.output)).toBe(false);
    } finally {
      truncate = false;
    }
  }, 120_000);
});
