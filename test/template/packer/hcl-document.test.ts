// Packer HCL2 templates through the real loader and components: what a template means, with
// Packer 1.9's rules, and every error with file:line:col.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, test } from "vitest";
import { loadTemplate, type LoadOptions } from "../../../src/builder/load-template.js";
import { ConfigErrors } from "../../../src/core/errors.js";

const root = mkdtempSync(join(tmpdir(), "tsimg-hcl-"));
const startDir = process.cwd();
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => process.chdir(startDir));

let count = 0;
let dir = "";
beforeEach(() => {
  dir = join(root, String(++count));
  mkdirSync(dir);
  writeFileSync(join(dir, "disk.iso"), "not really an ISO");
  process.chdir(dir); // Packer's paths start at the working directory
});

function write(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const SOURCE = `source "qemu" "vm" {
  iso_url      = "disk.iso"
  iso_checksum = "none"
  ssh_username = "root"
}
`;

function load(template: string, options: LoadOptions = {}, files: Record<string, string> = {}) {
  write({ "t.pkr.hcl": template, ...files });
  return loadTemplate("t.pkr.hcl", { env: {}, now: new Date("2026-03-04T05:06:07Z"), ...options });
}

/** loadTemplate, with the errors in the test's failure message. */
function loadOrShow(path: string, options: LoadOptions) {
  try {
    return loadTemplate(path, options);
  } catch (error) {
    if (error instanceof ConfigErrors)
      throw new Error(error.errors.map((e) => `${e.location} ${e.message}`).join("\n"), { cause: error });
    throw error;
  }
}

function errors(template: string, options: LoadOptions = {}, files: Record<string, string> = {}): string[] {
  try {
    load(template, options, files);
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    return error.errors.map((e) => `${e.location} ${e.message}`);
  }
  throw new Error("loaded without an error");
}

describe("Packer HCL2 templates", () => {
  test("variables, locals, functions and Packer's defaults become the plan", () => {
    const plan = load(
      `variable "size" {
  type    = number
  default = 1024
}
variable "password" {
  type      = string
  default   = "s3cret!"
  sensitive = true
}
locals {
  name  = "img-\${formatdate("YYYYMMDD", timestamp())}"
  cmds  = [for s in ["a", "b"] : "echo \${upper(s)}"]
  ks    = file("ks.cfg")
}
${SOURCE.replace(
  "}",
  `  disk_size = "\${var.size * 2}M"
  ssh_password = var.password
  vm_name = local.name
  http_content = { "/ks.cfg" = local.ks }
}`,
)}
build {
  sources = ["source.qemu.vm"]
  provisioner "shell" { inline = local.cmds }
}
`,
      {},
      { "ks.cfg": "rootpw x\n" },
    );
    expect(plan.source.disk_size).toBe(2048);
    expect(plan.source.vm_name).toBe("img-20260304");
    expect(plan.source.output_directory).toBe(join(dir, "output-vm")); // Packer's default
    expect(plan.source.http_content).toEqual({ "/ks.cfg": "rootpw x\n" });
    expect(plan.provisioners).toMatchObject([{ type: "shell", inline: ["echo A", "echo B"] }]);
    expect(plan.secrets).toContain("s3cret!");
    expect(plan.variables.size).toEqual({ value: "1024", sensitive: false });
    expect(plan.image.name).toBe("t");
  });

  test("provisioners keep the order written, whatever their types; only/except and chains", () => {
    const plan = load(`${SOURCE}
build {
  sources = ["source.qemu.vm"]
  provisioner "shell" { inline = ["one"] }
  provisioner "file" {
    content     = "two"
    destination = "/tmp/two"
  }
  provisioner "shell" { inline = ["three"] }
  provisioner "shell" {
    only   = ["qemu.other"]
    inline = ["not here"]
  }
  provisioner "shell-local" {
    except = ["qemu.vm"]
    inline = ["not here either"]
  }
  post-processor "checksum" { checksum_types = ["md5"] }
  post-processors {
    post-processor "compress" { format = "gz" }
    post-processor "manifest" { name = "manifest-step" }
  }
}
`);
    expect(plan.provisioners.map((p) => ("inline" in p ? p.inline?.[0] : p.type))).toEqual(["one", "file", "three"]);
    expect(plan.postProcessors.map((chain) => chain.map((p) => p.type))).toEqual([
      ["checksum"],
      ["compress", "manifest"],
    ]);
  });

  test("value precedence: default < PKR_VAR_ < *.auto.pkrvars.hcl < -var-file < -var", () => {
    const template = `variable "a" {
  default = "default"
}
variable "b" {
  default = "default"
}
variable "c" {
  default = "default"
}
variable "d" {
  default = "default"
}
variable "e" {
  default = "default"
}
${SOURCE.replace("}", '  vm_name = "${var.a}-${var.b}-${var.c}-${var.d}-${var.e}"\n}')}
build {
  sources = ["source.qemu.vm"]
}
`;
    write({
      "t/t.pkr.hcl": template,
      "t/x.auto.pkrvars.hcl": 'c = "auto"\nd = "auto"\ne = "auto"\n',
      "vars.pkrvars.hcl": 'd = "file"\ne = "file"\n',
      "t/disk.iso": "",
    });
    const plan = loadOrShow("t", {
      env: { PKR_VAR_b: "env", PKR_VAR_c: "env", PKR_VAR_d: "env", PKR_VAR_e: "env" },
      varFiles: ["vars.pkrvars.hcl"],
      vars: { e: "flag" },
    });
    expect(plan.source.vm_name).toBe("default-env-auto-file-flag");
    expect(plan.image.name).toBe("t"); // a folder's name
  });

  test("typed -var values, JSON var files, and validation blocks", () => {
    const template = `variable "n" {
  type = number
  default = 2
  validation {
    condition     = var.n > 0 && var.n < 8
    error_message = "n must be 1 to 7."
  }
}
variable "l" {
  type    = list(string)
  default = []
}
${SOURCE.replace("}", "  cpus = var.n\n  boot_command = var.l\n}")}
build {
  sources = ["source.qemu.vm"]
}
`;
    write({ "v.json": '{"l": ["<enter>"]}' });
    const plan = load(template, { vars: { n: "4" }, varFiles: ["v.json"] });
    expect(plan.source.cpus).toBe(4);
    expect(plan.source.boot_command).toEqual(["<enter>"]);
    expect(errors(template, { vars: { n: "9" } })).toEqual(['t.pkr.hcl:4:3 variable "n": n must be 1 to 7.']);
    expect(errors(template, { vars: { n: "four" } })[0]).toMatch(
      /variable "n" from -var n: a number variable needs a number/,
    );
  });

  test("-only/-except choose the build; other sources are skipped with a warning", () => {
    const template = `${SOURCE}
source "qemu" "second" {
  iso_url      = "disk.iso"
  iso_checksum = "none"
  ssh_username = "admin"
}
source "amazon-ebs" "cloud" {
  region = "eu-west-1"
}
build {
  name    = "main"
  sources = ["source.qemu.vm", "source.qemu.second", "source.amazon-ebs.cloud"]
}
`;
    expect(errors(template)[0]).toMatch(/builds 2 qemu sources .*choose it with -only=qemu.vm/);
    const plan = load(template, { only: ["main.qemu.sec*", "amazon-ebs.cloud"] });
    expect(plan.source.ssh_username).toBe("admin");
    expect(plan.warnings.map((w) => `${w.location} ${w.message}`)).toEqual([
      't.pkr.hcl:12:1 source "amazon-ebs.cloud" skipped: tsimg builds qemu sources only (as if -only=qemu.*)',
    ]);
    expect(load(template, { except: ["qemu.vm"] }).source.ssh_username).toBe("admin");
  });

  test("a source block in a build renames and overrides", () => {
    const plan = load(`${SOURCE}
build {
  source "source.qemu.vm" {
    name   = "big"
    memory = 4096
  }
  provisioner "shell" {
    only   = ["qemu.big"]
    inline = ["for big"]
  }
}
`);
    expect(plan.source.memory).toBe(4096);
    expect(plan.source.vm_name).toBe("packer-big");
    expect(plan.provisioners).toHaveLength(1);
  });

  test("errors keep file:line:col: syntax, expressions, components' checks, unsupported options", () => {
    expect(errors('source "qemu" "vm" {\n  iso_url = \n}\n')).toEqual([
      "t.pkr.hcl:2:13 HCL syntax: Invalid expression; Expected the start of an expression, but found an invalid expression token",
    ]);
    const broken = `${SOURCE.replace("}", '  disk_size = "lots"\n  vm_name = var.nope\n  net_bridge = "br0"\n  ssh_wait_timeout = "5m"\n}')}
build {
  sources = ["source.qemu.vm"]
  provisioner "ansible" { playbook_file = "x.yml" }
}
`;
    expect(errors(broken)).toEqual([
      't.pkr.hcl:6:3 vm_name: var has no "nope"',
      expect.stringMatching(
        /^t.pkr.hcl:7:3 source "qemu" "vm": tsimg does not support "net_bridge": tsimg uses QEMU's user-mode network only/,
      ),
      expect.stringMatching(
        /^t.pkr.hcl:13:3 provisioner "ansible": tsimg has no "ansible" provisioner: run ansible-playbook/,
      ),
    ]);
    // ssh_wait_timeout is Packer's old name of ssh_timeout: taken; disk_size judged by the component.
    const renamed = `${SOURCE.replace("}", '  disk_size = "lots"\n  ssh_wait_timeout = "5m"\n}')}
build {
  sources = ["source.qemu.vm"]
}
`;
    expect(errors(renamed)).toEqual([expect.stringMatching(/^t.pkr.hcl:5:3 .*disk_size/)]);
    expect(errors(`${SOURCE}\nbuild {\n  sources = ["source.qemu.mv"]\n}\n`)).toEqual([
      't.pkr.hcl:8:3 build uses "source.qemu.mv", which is not declared; did you mean "source.qemu.vm"?',
    ]);
  });

  test("env() only in a variable's default; paths from the working directory, path.root for the template's folder", () => {
    const template = `variable "home" {
  default = env("MY_HOME")
}
${SOURCE.replace("}", '  shutdown_command = var.home\n  http_content = { "/a" = file("${path.root}/sub/a.txt"), "/b" = file("b.txt") }\n}')}
build {
  sources = ["source.qemu.vm"]
}
`;
    write({ "tpl/t.pkr.hcl": template, "tpl/sub/a.txt": "A", "b.txt": "B", "tpl/disk.iso": "" });
    const plan = loadOrShow("tpl/t.pkr.hcl", { env: { MY_HOME: "/home/me" } });
    expect(plan.source.shutdown_command).toBe("/home/me");
    expect(plan.source.http_content).toEqual({ "/a": "A", "/b": "B" });
    expect(plan.source.iso_url).toBe(join(dir, "disk.iso")); // not tpl/disk.iso
    expect(
      errors(`${SOURCE.replace("}", '  vm_name = env("HOME")\n}')}\nbuild {\n  sources = ["source.qemu.vm"]\n}\n`)[0],
    ).toMatch(/^t.pkr.hcl:5:3 vm_name: env\(\): Packer allows env\(\) only in a variable's default/);
  });

  test("packer.version is the version of what builds the image: tsimg's, from package.json", () => {
    const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const plan = load(`${SOURCE.replace("}", '  vm_name = "img-${packer.version}"\n}')}
build {
  sources = ["source.qemu.vm"]
  provisioner "shell" {
    environment_vars = ["PACKER_VERSION=\${packer.version}"]
    inline           = ["echo $PACKER_VERSION > /etc/built-by"]
  }
}
`);
    expect(plan.source.vm_name).toBe(`img-${version}`);
    expect(plan.provisioners[0]).toMatchObject({ environment_vars: [`PACKER_VERSION=${version}`] });
  });

  test("workingDir: paths start there, as if tsimg ran in it (serve builds from the repository's root)", () => {
    write({ "t.pkr.hcl": `${SOURCE}\nbuild {\n  sources = ["source.qemu.vm"]\n}\n` });
    process.chdir(startDir);
    const plan = loadTemplate(join(dir, "t.pkr.hcl"), { env: {}, workingDir: dir });
    expect(plan.source.iso_url).toBe(join(dir, "disk.iso"));
    expect(plan.source.output_directory).toBe(join(dir, "output-vm"));
  });

  test("env.yaml beside the template is [image]", () => {
    const plan = load(
      `${SOURCE}\nbuild {\n  sources = ["source.qemu.vm"]\n}\n`,
      {},
      {
        "env.yaml": "name: rocky9\nversion: 1.10\nos_type: linux\npurpose: base image\n",
      },
    );
    expect(plan.image).toEqual({ name: "rocky9", version: "1.10", os_type: "linux", purpose: "base image" });
  });
});
