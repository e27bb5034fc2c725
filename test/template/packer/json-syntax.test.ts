// HCL2 in JSON syntax (*.pkr.json), through the real loader: the same plan as the native
// syntax it mirrors, blocks in the order written, and errors at the JSON's file:line:col.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadTemplate } from "../../../src/builder/load-template.js";
import { ConfigErrors } from "../../../src/core/errors.js";

const dir = mkdtempSync(join(tmpdir(), "tsimg-pkr-json-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "disk.iso"), "not really an ISO");
const options = { env: {}, workingDir: dir, now: new Date("2026-03-04T05:06:07Z") };

const NATIVE = `
variable "size" {
  type    = list(number)
  default = [2048]
}
source "qemu" "vm" {
  iso_url      = "disk.iso"
  iso_checksum = "none"
  ssh_username = "root"
  disk_size    = var.size[0]
}
build {
  sources = ["source.qemu.vm"]
  provisioner "shell" { inline = ["one"] }
  provisioner "file" {
    content     = "two"
    destination = "/two"
  }
  provisioner "shell" { inline = ["three"] }
  post-processors {
    post-processor "checksum" { checksum_types = ["sha256"] }
    post-processor "manifest" {}
  }
}
`;

const JSON_SYNTAX = {
  variable: { size: { type: "list(number)", default: [2048] } },
  source: {
    qemu: { vm: { iso_url: "disk.iso", iso_checksum: "none", ssh_username: "root", disk_size: "${var.size[0]}" } },
  },
  build: {
    sources: ["source.qemu.vm"],
    provisioner: [
      { shell: { inline: ["one"] } },
      { file: { content: "two", destination: "/two" } },
      { shell: { inline: ["three"] } },
    ],
    "post-processors": { "post-processor": [{ checksum: { checksum_types: ["sha256"] } }, { manifest: {} }] },
  },
};

function load(name: string, text: string) {
  writeFileSync(join(dir, name), text);
  return loadTemplate(join(dir, name), options);
}

function errorsOf(name: string, text: string): string[] {
  try {
    load(name, text);
  } catch (error) {
    if (error instanceof ConfigErrors)
      return error.errors.map((e) => `${e.location.replace(`${dir}/`, "")} ${e.message}`);
    throw error;
  }
  throw new Error("expected ConfigErrors");
}

describe("HCL2 in JSON syntax (*.pkr.json)", () => {
  test("gives the plan its native twin gives, blocks in the order written", () => {
    const native = load("native.pkr.hcl", NATIVE);
    const json = load("json.pkr.json", JSON.stringify(JSON_SYNTAX, null, 2));
    expect(json.provisioners.map((p) => p.type)).toEqual(["shell", "file", "shell"]);
    expect(json.postProcessors.map((chain) => chain.map((p) => p.type))).toEqual([["checksum", "manifest"]]);
    expect(json.source.disk_size).toBe(2048);
    const { templatePath: _a, image: _i, ...jsonRest } = json;
    const { templatePath: _b, image: _j, ...nativeRest } = native;
    expect(jsonRest).toEqual(nativeRest);
  });

  test("errors name the file, line and column in the JSON", () => {
    expect(errorsOf("broken.pkr.json", '{\n  "source": {\n    "qemu": { "vm": { "iso_url": } }\n  }\n}\n')).toEqual([
      expect.stringMatching(/^broken\.pkr\.json:3:\d+ JSON syntax: /),
    ]);
    const unknown = { ...JSON_SYNTAX, source: { qemu: { vm: { ...JSON_SYNTAX.source.qemu.vm, isourl: "x" } } } };
    expect(errorsOf("unknown.pkr.json", JSON.stringify(unknown, null, 2))).toEqual([
      'unknown.pkr.json:17:9 unknown key "isourl"; did you mean "iso_url"?',
    ]);
    expect(errorsOf("labels.pkr.json", JSON.stringify({ ...JSON_SYNTAX, source: { qemu: ["vm"] } }))).toEqual([
      expect.stringMatching(/^labels\.pkr\.json:1:\d+ "source.qemu": expected an object of labels/),
    ]);
  });
});
