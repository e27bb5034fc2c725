// Issue 4, done-when 1 and 3: cloud images. The base disk is the tinyos system installed
// from the ISO with no root password (the way distros make their cloud images), built once
// here by tsimg itself. Builds from it get their SSH key only from a cloud-init NoCloud seed
// (cd_content, label "cidata") carrying tsimg's temporary public key: no password anywhere.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { build, type BuildEvent } from "../../src/index.js";
import { loadTemplate } from "../../src/builder/load-template.js";
import { ISO, requireFixture } from "./helpers.js";

let work: string;
let baseDisk: string;
let baseSha256: string;

/** Builds `toml` (a template's text) in `dir`; returns the result with the log, serial and provisioner output. */
async function run(dir: string, toml: string) {
  writeFileSync(join(dir, "image.toml"), toml);
  const events: BuildEvent[] = [];
  const result = await build(loadTemplate(join(dir, "image.toml"), { env: {} }), {
    cacheDir: join(work, "cache"),
    onEvent: (e) => events.push(e),
  });
  return {
    result,
    log: events.flatMap((e) => (e.type === "log" ? [e.message] : [])),
    serial: events.flatMap((e) => (e.type === "serial" ? [e.line] : [])),
    output: events.flatMap((e) => (e.type === "output" ? [e.line] : [])),
  };
}

/** qemu-img's own view of an image: format, virtual-size, backing-filename... */
function imageInfo(path: string): Record<string, unknown> {
  return JSON.parse(execFileSync("qemu-img", ["info", "--output=json", path], { encoding: "utf8" }));
}

const seed = `
cd_label = "cidata"
[source.cd_content]
"meta-data" = "instance-id: e2e\\nlocal-hostname: cloudy\\n"
"user-data" = """
#cloud-config
ssh_authorized_keys:
  - {{ .SSHPublicKey }}
"""
`;

function cloudTemplate(name: string, extra: string, provisioner: string): string {
  return `[image]
name = "${name}"

[source]
disk_image = true
iso_url = "${baseDisk}"
iso_checksum = "sha256:${baseSha256}"
output_directory = "${join(work, name)}"
accelerator = "tcg"
headless = true
ssh_username = "root"
ssh_timeout = "5m"
shutdown_command = "/sbin/halt -h -p"
${extra}
${seed}
[[provisioner]]
type = "shell"
inline = [${provisioner}]
`;
}

beforeAll(async () => {
  requireFixture();
  work = mkdtempSync(join(tmpdir(), "tsimg-e2e-cloud-"));
  writeFileSync(
    join(work, "base.ks"),
    "text\n# no rootpw: root cannot log in with a password, only with keys\npoweroff\n",
  );
  const made = await run(
    work,
    `[image]
name = "cloud-base"

[source]
iso_url = "${ISO}"
iso_checksum = "none"
output_directory = "${join(work, "base")}"
accelerator = "tcg"
headless = true
disk_size = "256M"
boot_wait = "1s"
boot_command = ["<tab> console=ttyS0,115200n8 inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/base.ks<enter>"]
communicator = "none"
shutdown_timeout = "5m"
http_directory = "."
`,
  );
  if (!made.result.ok)
    throw new Error(
      `building the base disk failed: ${made.result.error?.message}\n${made.serial.slice(-20).join("\n")}`,
    );
  baseDisk = made.result.artifact!;
  baseSha256 = createHash("sha256").update(readFileSync(baseDisk)).digest("hex");
}, 600_000);

describe("disk_image with a NoCloud seed", () => {
  it("boots the base, authorizes only the temporary key from cd_content, provisions, and clears the key", async () => {
    const dir = mkdtempSync(join(work, "copy-"));
    const built = await run(
      dir,
      cloudTemplate(
        "copy",
        'disk_size = "512M"\nssh_clear_authorized_keys = true',
        '"echo shadow=$(grep ^root: /etc/shadow | cut -d: -f2)", "echo host=$(hostname)", "echo keys=$(wc -l < /root/.ssh/authorized_keys)", "echo disk=$(cat /sys/block/vda/size)"',
      ),
    );
    expect(built.result.error?.message).toBeUndefined();
    expect(built.result.ok).toBe(true);
    // No password anywhere: root's shadow entry is locked; the seed's one key let tsimg in.
    expect(built.output).toEqual(
      expect.arrayContaining(["shadow=*", "host=cloudy", "keys=1", `disk=${(512 * 1024 * 1024) / 512}`]),
    );
    expect(built.serial.some((l) => l.includes("NoCloud: 1 ssh key(s) for root"))).toBe(true);
    expect(built.log).toContain("ssh_clear_authorized_keys: removed the temporary key from ~/.ssh/authorized_keys");
    // The boot test (issue 15): the build's key is gone from the image, so the artifact boots with a
    // fresh NoCloud seed carrying a new temporary key, and passes the minimal checks.
    expect(built.log).toContainEqual(
      expect.stringMatching(/on a throwaway overlay; logging in with a fresh NoCloud seed with a new temporary key$/),
    );
    expect(built.log).toContain('boot test: passed "root file system is mounted read-write"');
    // A full, standalone copy: no backing file, grown to disk_size.
    const info = imageInfo(built.result.artifact!);
    expect(info["backing-filename"]).toBeUndefined();
    expect(info["virtual-size"]).toBe(512 * 1024 * 1024);
  }, 600_000);

  it("use_backing_file: a thin qcow2 overlay whose backing file the manifest names", async () => {
    const dir = mkdtempSync(join(work, "thin-"));
    const built = await run(
      dir,
      cloudTemplate("thin", "use_backing_file = true", '"echo provisioned > /etc/thin-stamp"') +
        `\n[[post_processor]]\ntype = "manifest"\noutput = "manifest.json"\n`,
    );
    expect(built.result.error?.message).toBeUndefined();
    const overlay = join(work, "thin", "thin.qcow2");
    const info = imageInfo(overlay);
    expect(info["backing-filename"]).toBe(baseDisk);
    expect(info["backing-filename-format"]).toBe("qcow2");
    expect(statSync(overlay).size).toBeLessThan(statSync(baseDisk).size / 2);
    const manifest = JSON.parse(readFileSync(join(work, "thin", "manifest.json"), "utf8"));
    expect(manifest.builds[0].lineage).toEqual({
      base_image: baseDisk,
      base_checksum: `sha256:${baseSha256}`,
      base_format: "qcow2",
      backing_file: baseDisk,
    });
  }, 600_000);

  it('format = "raw" and disk_additional_size: raw files beside the main one, which the guest saw and wrote', async () => {
    const dir = mkdtempSync(join(work, "raw-"));
    const built = await run(
      dir,
      cloudTemplate(
        "rawdisks",
        'format = "raw"\ndisk_size = "300M"\ndisk_additional_size = ["64M", "32M"]',
        '"echo vdb=$(cat /sys/block/vdb/size) vdc=$(cat /sys/block/vdc/size)", "echo tsimg-extra-disk | dd of=/dev/vdb conv=fsync 2>/dev/null"',
      ),
    );
    expect(built.result.error?.message).toBeUndefined();
    expect(built.output).toContain(`vdb=${(64 * 1024 * 1024) / 512} vdc=${(32 * 1024 * 1024) / 512}`);
    const out = join(work, "rawdisks");
    expect(readdirSync(out).sort()).toEqual([
      ".tsimg-output",
      "rawdisks-1.raw",
      "rawdisks-2.raw",
      "rawdisks.cdx.json",
      "rawdisks.raw",
      "serial.log",
    ]);
    for (const [file, size] of [
      ["rawdisks.raw", 300],
      ["rawdisks-1.raw", 64],
      ["rawdisks-2.raw", 32],
    ] as const) {
      const info = imageInfo(join(out, file));
      expect([file, info.format, info["virtual-size"]]).toEqual([file, "raw", size * 1024 * 1024]);
    }
    const head = Buffer.alloc(16);
    const fd = openSync(join(out, "rawdisks-1.raw"), "r");
    readSync(fd, head, 0, 16, 0);
    closeSync(fd);
    expect(head.toString()).toBe("tsimg-extra-disk");
    expect(built.result.artifacts[0]!.files).toEqual([
      join(out, "rawdisks.raw"),
      join(out, "rawdisks-1.raw"),
      join(out, "rawdisks-2.raw"),
    ]);
    expect(existsSync(join(out, "efivars.fd"))).toBe(false);
  }, 600_000);

  it("vtpm: the guest has a TPM 2.0 (swtpm), and swtpm stops with the build", async () => {
    const dir = mkdtempSync(join(work, "tpm-"));
    const built = await run(
      dir,
      cloudTemplate(
        "tpm",
        "vtpm = true",
        '"echo tpm=$(ls /sys/class/tpm) major=$(cat /sys/class/tpm/tpm0/tpm_version_major)"',
      ),
    );
    expect(built.result.error?.message).toBeUndefined();
    expect(built.output).toContain("tpm=tpm0 major=2");
    expect(built.log.some((l) => /^virtual TPM 2\.0 \(swtpm, pid \d+\)$/.test(l))).toBe(true);
    const pid = Number(/pid (\d+)/.exec(built.log.find((l) => l.startsWith("virtual TPM"))!)![1]);
    expect(() => process.kill(pid, 0)).toThrow();
  }, 600_000);
});
