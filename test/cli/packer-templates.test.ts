// Packer templates through the real command line (dist/cli/main.js): validate, inspect and
// import of an HCL2 template, a folder and a legacy JSON template laid out as the users keep
// them (packer/<image>/ with env.yaml, run from that folder as Packer is), and the import's
// round trip: inspect of the original and of the TOML it writes give the same plan and the
// same QEMU command line.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const CLI = `${ROOT}dist/cli/main.js`;
const repo = mkdtempSync(join(tmpdir(), "tsimg-packer-cli-"));
const folder = join(repo, "packer", "tinyos");

function tsimg(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, PKR_VAR_cpus: "1" },
  });
}

const HCL = `packer {
  required_plugins {
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = ">= 1.0.10"
    }
  }
}

# root's password, as kickstart/tinyos.ks sets it
variable "root_password" {
  type      = string
  default   = "tsimg-example"
  sensitive = true
}

variable "cpus" {
  type    = number
  default = 2
}

locals {
  ks = "/ks/tinyos.ks"
}

source "qemu" "tinyos" {
  iso_url          = "../../iso/tinyos.iso"
  iso_checksum     = "file:../../iso/SHA256SUMS"
  disk_size        = "512M"
  memory           = 512
  cpus             = var.cpus
  boot_wait        = "1s"
  boot_command     = ["<tab> inst.text console=ttyS0,115200n8 ", "inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}\${local.ks}<enter>"]
  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.root_password
  ssh_timeout      = "10m"
  shutdown_command = "/sbin/halt -h -p"
  http_content = {
    "\${local.ks}" = file("../../kickstart/tinyos.ks")
  }
}

source "amazon-ebs" "cloud" {
  region = "eu-west-1"
}

build {
  description = "tinyos, as a Packer user keeps it"
  sources     = ["source.qemu.tinyos", "source.amazon-ebs.cloud"]

  provisioner "shell" {
    script           = "./provisioner.sh"
    environment_vars = ["GREETING=$\${HOME} \${upper("hi")}"]
  }

  # the message of the day
  provisioner "file" {
    source      = "../../resources/motd"
    destination = "/etc/motd"
  }

  post-processors {
    post-processor "checksum" {
      checksum_types = ["sha256"]
    }
    post-processor "manifest" {}
  }
}
`;

const JSON_TEMPLATE = {
  variables: { root_password: "tsimg-example", version: "1.0.0" },
  "sensitive-variables": ["root_password"],
  builders: [
    {
      type: "qemu",
      name: "tinyos",
      iso_url: "../../iso/tinyos.iso",
      iso_checksum: "file:../../iso/SHA256SUMS",
      disk_size: "512M",
      memory: 512,
      boot_wait: "1s",
      boot_command: [
        "<tab> inst.text console=ttyS0,115200n8 ",
        "inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks/tinyos.ks<enter>",
      ],
      http_directory: "http",
      ssh_username: "root",
      ssh_password: "{{user `root_password`}}",
      ssh_timeout: "10m",
      shutdown_command: "/sbin/halt -h -p",
    },
  ],
  provisioners: [
    { type: "shell", script: "{{template_dir}}/provisioner.sh", environment_vars: ["V={{user `version`}}"] },
  ],
  "post-processors": [["checksum", "manifest"]],
};

beforeAll(() => {
  execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT });
  for (const shared of ["iso", "kickstart", "resources"]) symlinkSync(join(ROOT, shared), join(repo, shared));
  mkdirSync(join(folder, "http", "ks"), { recursive: true });
  writeFileSync(join(folder, "tinyos.pkr.hcl"), HCL);
  writeFileSync(join(folder, "tinyos.json"), JSON.stringify(JSON_TEMPLATE, null, 2));
  writeFileSync(join(folder, "provisioner.sh"), "#!/bin/sh\necho provisioned\n");
  writeFileSync(join(folder, "env.yaml"), "version: 1.0.0\nos_type: linux\nos_version: tinyos-1\npurpose: example\n");
  writeFileSync(join(folder, "http", "ks", "tinyos.ks"), readFileSync(join(ROOT, "kickstart", "tinyos.ks")));
}, 120_000);
afterAll(() => rmSync(repo, { recursive: true, force: true }));

/** inspect --json, without the template's own path; iso_checksum's file: path resolved (each file writes it relative to itself). */
function inspect(cwd: string, template: string, ...args: string[]): Record<string, unknown> {
  const result = tsimg(cwd, "inspect", "--json", template, ...args);
  expect(result.stderr, result.stderr).not.toMatch(/Error/);
  const plan = JSON.parse(result.stdout) as { template: string; source: { iso_checksum: string } };
  const templateDir = dirname(resolve(cwd, template));
  const checksum = plan.source.iso_checksum.replace(/^file:/, "");
  plan.source.iso_checksum = `file:${resolve(template.endsWith(".toml") ? templateDir : cwd, checksum)}`;
  const { template: _path, ...rest } = plan;
  void _path;
  return rest;
}

// Each test runs the CLI a few times: seconds each on a busy 2-core machine.
describe("Packer templates on the command line", { timeout: 180_000 }, () => {
  test("validate and inspect a .pkr.hcl file and its folder, from the template's folder as Packer runs", () => {
    const valid = tsimg(folder, "validate", "tinyos.pkr.hcl");
    expect(valid.status, valid.stderr).toBe(0);
    expect(valid.stderr).toContain('source "amazon-ebs.cloud" skipped: tsimg builds qemu sources only');
    const plan = inspect(folder, "tinyos.pkr.hcl") as {
      image: Record<string, unknown>;
      source: Record<string, unknown>;
      provisioners: Record<string, unknown>[];
      post_processors: unknown[][];
      qemu: { args: string[] };
    };
    expect(plan.image).toEqual({
      version: "1.0.0",
      os_type: "linux",
      os_version: "tinyos-1",
      purpose: "example",
      description: "tinyos, as a Packer user keeps it",
      name: "tinyos",
    });
    expect(plan.source.cpus).toBe(1); // PKR_VAR_cpus
    expect(plan.source.iso_url).toBe(join(repo, "iso", "tinyos.iso"));
    expect(plan.source.output_directory).toBe(join(folder, "output-tinyos"));
    expect(plan.provisioners.map((p) => p.type)).toEqual(["shell", "file"]);
    expect(plan.provisioners[0]?.environment_vars).toEqual(["GREETING=${HOME} HI"]);
    expect(plan.post_processors).toHaveLength(1);
    expect(plan.qemu.args).toContain("packer-tinyos");
    expect((inspect(folder, ".", "-var", "cpus=3").source as { cpus: number }).cpus).toBe(3);
  });

  test("-var, -only and errors with file:line:col", () => {
    const wrongCpus = tsimg(folder, "validate", "-var", "cpus=many", "tinyos.pkr.hcl");
    expect(wrongCpus.status).toBe(2);
    expect(wrongCpus.stderr).toMatch(
      /variable "cpus" from -var cpus: a number variable needs a number, got a string "many"/,
    );
    const noQemu = tsimg(folder, "validate", "-only=amazon-ebs.*", "tinyos.pkr.hcl");
    expect(noQemu.status).toBe(2);
    expect(noQemu.stderr).toContain("no qemu source left to build after -only/-except");
    const typo = tsimg(folder, "validate", "-var", "root_pasword=x", "tinyos.pkr.hcl");
    expect(typo.stderr).toContain('-var root_pasword=...: the template declares no variable "root_pasword"');
  });

  test("tsimg import writes TOML whose inspect matches the original's, and refuses to overwrite", () => {
    for (const template of ["tinyos.pkr.hcl", "tinyos.json"]) {
      const out = join(repo, "images", `${template}.toml`);
      const written = tsimg(folder, "import", template, "-o", out);
      expect(written.status, written.stderr).toBe(0);
      const toml = readFileSync(out, "utf8");
      if (template.endsWith(".hcl")) {
        expect(toml).toContain("# root's password, as kickstart/tinyos.ks sets it\n[variables.root_password]");
        expect(toml).toContain('ssh_password = "${var.root_password}"');
        expect(toml).toContain('"/ks/tinyos.ks" = "${file(\\"../kickstart/tinyos.ks\\")}"');
        expect(toml).toContain('environment_vars = ["GREETING=$${HOME} HI"]');
        expect(toml).toContain("# the message of the day\n[[provisioner]]");
      }
      expect(inspect(folder, out)).toEqual(inspect(folder, template)); // output_directory: from the working directory in both
      const again = tsimg(folder, "import", template, "-o", out);
      expect(again.status).toBe(2);
      expect(again.stderr).toContain("exists: choose another name with -o, or replace it with --force");
      expect(tsimg(folder, "import", template, "-o", out, "--force").status).toBe(0);
    }
  });

  test("tsimg import of a template with two qemu builds writes one TOML per build, each inspecting as that build", () => {
    // The corpus's multi-source case: qemu.bios and qemu.uefi-large (and a virtualbox source, skipped).
    const corpus = join(repo, "corpus");
    for (const name of ["11-multi-source", "shared"])
      cpSync(join(ROOT, "test/packer-corpus", name), join(corpus, name), { recursive: true });
    const cwd = join(corpus, "11-multi-source");
    const named = tsimg(cwd, "import", "-o", "one.toml", "multi.pkr.hcl");
    expect(named.status).toBe(2);
    expect(named.stderr).toContain(
      "multi.pkr.hcl has 2 qemu builds (bios, uefi-large): -o names one file; leave it out to write one TOML per build (multi-bios.toml, multi-uefi-large.toml), or choose one with -only",
    );
    const written = tsimg(cwd, "import", "multi.pkr.hcl");
    expect(written.status, written.stderr).toBe(0);
    expect(written.stdout).toContain("multi-bios.toml: written from multi.pkr.hcl (build bios)");
    expect(written.stdout).toContain("multi-uefi-large.toml: written from multi.pkr.hcl (build uefi-large)");
    // inspect of the original lists both builds, named as tsimg build names them; each TOML is one of them.
    const plans = (template: string) => {
      const result = tsimg(cwd, "inspect", "--json", template);
      expect(result.status, result.stderr).toBe(0);
      const parsed = JSON.parse(result.stdout) as Record<string, unknown> | Record<string, unknown>[];
      return (Array.isArray(parsed) ? parsed : [parsed]).map(({ template: _path, ...rest }) => rest);
    };
    const original = plans("multi.pkr.hcl");
    expect(original.map((p) => (p.image as { name: string }).name)).toEqual(["multi-bios", "multi-uefi-large"]);
    expect([...plans("multi-bios.toml"), ...plans("multi-uefi-large.toml")]).toEqual(original);
    // Nothing is overwritten: a second import stops at the first file that exists.
    expect(tsimg(cwd, "import", "multi.pkr.hcl").stderr).toContain("multi-bios.toml exists");
  });
});
