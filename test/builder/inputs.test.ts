// The manifest's `inputs`: equal inputs give identical JSON; a changed script changes only
// its own entry; fetch-iso's hash of the ISO is reused.
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, test } from "vitest";
import { collectInputs } from "../../src/builder/inputs.js";
import { stepContext } from "./step-context.js";
import { fetchIso } from "../../src/builder/steps/fetch-iso.js";
import { EventBus } from "../../src/core/event-bus.js";
import { Masker } from "../../src/core/masker.js";
import { loadTemplate } from "../../src/builder/load-template.js";

const root = mkdtempSync(join(tmpdir(), "tsimg-inputs-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A project: template, ISO, kickstart, scripts, a file and a directory to upload, stand-ins for QEMU and qemu-img. */
function project(name: string, httpDirectory = false): { dir: string; template: string; qemuImg: string } {
  const dir = join(root, name);
  const write = (path: string, text: string, mode?: number) => {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
    if (mode) chmodSync(join(dir, path), mode);
  };
  write("iso/os.iso", "an ISO");
  write("kickstart/os.ks", "install\nreboot\n");
  write("http/ks/os.ks", "install\n");
  write("http/ks/extra/post.sh", "echo post\n");
  write("images/os/one.sh", "echo one\n");
  write("images/os/two.sh", "echo two\n");
  write("resources/motd", "hello\n");
  write("resources/tree/b.conf", "b\n");
  write("resources/tree/a/z.conf", "z\n");
  write("bin/qemu-system-x86_64", "#!/bin/sh\necho 'QEMU emulator version 9.9.9'\necho 'Copyright'\n", 0o755);
  write("bin/qemu-img", "#!/bin/sh\necho 'qemu-img version 9.9.9'\n", 0o755);
  const http = httpDirectory ? `http_directory = "../http"\n` : "";
  write(
    "images/os.toml",
    `[image]
name = "os"
version = "2.0"

[variables.pw]
default = "s3cret"
sensitive = true

[variables.flavour]
default = "minimal"

[source]
iso_url = "../iso/os.iso"
iso_checksum = "none"
qemu_binary = "${join(dir, "bin/qemu-system-x86_64")}"
ssh_username = "root"
ssh_password = "\${var.pw}"
${http}${httpDirectory ? "" : `\n[source.http_content]\n"/ks/os.ks" = '\${file("../kickstart/os.ks")}'\n`}
[[provisioner]]
type = "file"
source = "../resources/motd"
destination = "/etc/motd"

[[provisioner]]
type = "file"
source = "../resources/tree/"
destination = "/etc/tree"

[[provisioner]]
type = "shell"
scripts = ["os/one.sh", "os/two.sh"]

[[provisioner]]
type = "shell"
inline = ["echo \${var.flavour}", "echo root:\${var.pw} | chpasswd"]

[[post_processor]]
type = "manifest"
`,
  );
  return { dir, template: join(dir, "images/os.toml"), qemuImg: join(dir, "bin/qemu-img") };
}

describe("collectInputs", () => {
  test("two builds from the same inputs give identical inputs; a changed script changes only its entry", async () => {
    const p = project("same");
    const inputs = async () =>
      JSON.stringify(await collectInputs(loadTemplate(p.template, { env: {} }), { qemuImg: p.qemuImg }));
    const first = await inputs();
    expect(await inputs()).toBe(first);

    const parsed = JSON.parse(first) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["http_content", "iso", "provisioners", "template", "tools", "variables"]);
    expect(parsed).toEqual({
      http_content: { "/ks/os.ks": sha256("install\nreboot\n") },
      iso: { file: "os.iso", sha256: sha256("an ISO") },
      provisioners: [
        { destination: "/etc/motd", sha256: sha256("hello\n"), source: "../resources/motd", type: "file" },
        {
          destination: "/etc/tree",
          files: [
            { path: "a/z.conf", sha256: sha256("z\n") },
            { path: "b.conf", sha256: sha256("b\n") },
          ],
          source: "../resources/tree/",
          type: "file",
        },
        {
          scripts: [
            { path: "os/one.sh", sha256: sha256("echo one\n") },
            { path: "os/two.sh", sha256: sha256("echo two\n") },
          ],
          type: "shell",
        },
        // Inline commands as they ran, the secret masked (not even hashed, below).
        { inline: ["echo minimal", "echo root:<sensitive> | chpasswd"], type: "shell" },
      ],
      template: { file: "os.toml", sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      tools: {
        qemu: "QEMU emulator version 9.9.9",
        "qemu-img": "qemu-img version 9.9.9",
        tsimg: expect.stringMatching(/^\d+\.\d+\.\d+/),
      },
      variables: { flavour: "minimal", pw: "<sensitive>" },
    });
    // No secret, not even hashed.
    expect(first).not.toContain("s3cret");
    expect(first).not.toContain(sha256("s3cret"));

    writeFileSync(join(p.dir, "images/os/two.sh"), "echo TWO\n");
    const after = JSON.parse(await inputs()) as typeof parsed;
    const provisioners = (after.provisioners as Array<Record<string, unknown>>).map((x) => ({ ...x }));
    expect(provisioners[2]).toEqual({
      scripts: [
        { path: "os/one.sh", sha256: sha256("echo one\n") },
        { path: "os/two.sh", sha256: sha256("echo TWO\n") },
      ],
      type: "shell",
    });
    // Everything else is as it was.
    expect({ ...after, provisioners: [...provisioners.slice(0, 2), "x", ...provisioners.slice(3)] }).toEqual({
      ...parsed,
      provisioners: [
        ...(parsed.provisioners as unknown[]).slice(0, 2),
        "x",
        ...(parsed.provisioners as unknown[]).slice(3),
      ],
    });
  });

  test("http_directory: every file under it, sorted; the ISO hash verify-iso made is reused", async () => {
    const p = project("httpdir", true);
    const inputs = await collectInputs(loadTemplate(p.template, { env: {} }), {
      qemuImg: p.qemuImg,
      isoSha256: "ab".repeat(32),
    });
    expect(inputs.http_directory).toEqual({
      path: "../http",
      files: [
        { path: "ks/extra/post.sh", sha256: sha256("echo post\n") },
        { path: "ks/os.ks", sha256: sha256("install\n") },
      ],
    });
    expect(inputs.http_content).toBeUndefined();
    expect(inputs.iso).toEqual({ file: "os.iso", sha256: "ab".repeat(32) });
  });

  test("the template repository's commit, and whether its tree is dirty", async () => {
    const p = project("git");
    const git = (...args: string[]) =>
      execa("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-C", p.dir, ...args]);
    await git("init", "-q");
    await git("add", ".");
    await git("commit", "-q", "-m", "images");
    const head = String((await git("rev-parse", "HEAD")).stdout).trim();
    const plan = () => loadTemplate(p.template, { env: {} });
    expect((await collectInputs(plan(), { qemuImg: p.qemuImg })).git).toEqual({ commit: head, dirty: false });
    writeFileSync(join(p.dir, "images/os/one.sh"), "echo changed\n");
    expect((await collectInputs(plan(), { qemuImg: p.qemuImg })).git).toEqual({ commit: head, dirty: true });
  });

  test("a tool that cannot be run is recorded as unknown, not a failure", async () => {
    const p = project("notools");
    const inputs = await collectInputs(loadTemplate(p.template, { env: {} }), {
      qemuImg: join(p.dir, "bin/missing-qemu-img"),
    });
    expect((inputs.tools as Record<string, string>)["qemu-img"]).toBe(
      `unknown (${join(p.dir, "bin/missing-qemu-img")} --version failed)`,
    );
  });
});

describe("fetch-iso", () => {
  const run = async (template: string) => {
    const plan = loadTemplate(template, { env: {} });
    const ctx = stepContext(plan, {
      options: { cacheDir: mkdtempSync(join(tmpdir(), "tsimg-cache-")) },
      events: new EventBus("os", new Masker()),
    });
    return fetchIso.run(ctx, {}, {});
  };

  test("with post-processors, a non-sha256 iso_checksum also yields the ISO's sha256, in the same read", async () => {
    const p = project("md5");
    const md5 = createHash("md5").update("an ISO").digest("hex");
    writeFileSync(
      p.template,
      readFileSync(p.template, "utf8").replace('iso_checksum = "none"', `iso_checksum = "md5:${md5}"`),
    );
    expect((await run(p.template)).isoSha256).toBe(sha256("an ISO"));
  });

  test("a sha256 iso_checksum is kept as the ISO's sha256", async () => {
    const p = project("sha");
    writeFileSync(
      p.template,
      readFileSync(p.template, "utf8").replace('iso_checksum = "none"', `iso_checksum = "sha256:${sha256("an ISO")}"`),
    );
    expect((await run(p.template)).isoSha256).toBe(sha256("an ISO"));
  });
});
