// Legacy Packer JSON templates through the real loader and components.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, test } from "vitest";
import { loadTemplate, type LoadOptions } from "../../../src/builder/load-template.js";
import { ConfigErrors } from "../../../src/core/errors.js";
import { goTime, renderGoTemplate } from "../../../src/template/packer/go-template.js";

const root = mkdtempSync(join(tmpdir(), "tsimg-json-"));
const startDir = process.cwd();
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => process.chdir(startDir));
let dir = "";
let count = 0;
beforeEach(() => {
  dir = join(root, String(++count));
  mkdirSync(dir);
  writeFileSync(join(dir, "disk.iso"), "");
  process.chdir(dir);
});

const NOW = new Date("2026-03-04T05:06:07Z");
function load(template: object, options: LoadOptions = {}) {
  writeFileSync(join(dir, "t.json"), JSON.stringify(template, null, 2));
  return loadTemplate("t.json", { env: { SECRET: "from-env" }, now: NOW, ...options });
}
function errors(template: object, options: LoadOptions = {}): string[] {
  try {
    load(template, options);
  } catch (error) {
    if (error instanceof ConfigErrors) return error.errors.map((e) => `${e.location} ${e.message}`);
    throw error;
  }
  throw new Error("loaded without an error");
}

const QEMU = { type: "qemu", iso_url: "disk.iso", iso_checksum: "none", ssh_username: "root" };

describe("legacy Packer JSON templates", () => {
  test("variables, Go-template functions, provisioners with only/override, post-processor chains", () => {
    const plan = load({
      variables: { password: "{{env `SECRET`}}", version: "1.2", tag: "v{{user `version`}}" },
      "sensitive-variables": ["password"],
      builders: [
        {
          ...QEMU,
          name: "vm",
          ssh_password: "{{user `password`}}",
          vm_name: 'img-{{user `tag`}}-{{isotime "20060102"}}',
        },
        { type: "amazon-ebs", name: "cloud" },
      ],
      provisioners: [
        {
          type: "shell",
          inline: ["echo {{build_name}} {{build_type}} {{ .Vars }}"],
          override: { vm: { inline: ["overridden {{build_name}}"] } },
        },
        { type: "file", content: "x", destination: "/x", only: ["cloud"] },
        { type: "shell", inline: ['{{split "a-b-c" "-" 1 | upper}}'] },
      ],
      "post-processors": [["checksum", { type: "compress", format: "gz" }], { type: "manifest" }],
    });
    expect(plan.source.ssh_password).toBe("from-env");
    expect(plan.source.vm_name).toBe("img-v1.2-20260304");
    expect(plan.secrets).toContain("from-env");
    expect(plan.provisioners.map((p) => ("inline" in p ? p.inline : p.type))).toEqual([["overridden vm"], ["B"]]);
    expect(plan.postProcessors.map((c) => c.map((p) => p.type))).toEqual([["checksum", "compress"], ["manifest"]]);
    expect(plan.warnings.map((w) => w.message)).toEqual([
      'builder "cloud" (amazon-ebs) skipped: tsimg builds qemu only (as if -only=<the qemu builder>)',
    ]);
  });

  test("-var and -var-file override defaults; a null default is required", () => {
    writeFileSync(join(dir, "vars.json"), '{"user": "admin"}');
    const template = {
      variables: { user: "root", cpus: null },
      builders: [{ ...QEMU, ssh_username: "{{user `user`}}", cpus: "{{user `cpus`}}" }],
    };
    expect(errors(template)).toEqual([expect.stringMatching(/^t.json:4:5 variable "cpus" is required/)]);
    const plan = load(template, { varFiles: ["vars.json"], vars: { cpus: "2" } });
    expect(plan.source.ssh_username).toBe("admin");
    expect(plan.source.cpus).toBe(2);
  });

  test("errors name the key, located: {{env}} outside variables, unknown functions, unsupported options", () => {
    expect(
      errors({ builders: [{ ...QEMU, vm_name: "{{env `HOME`}}", vnc_use_password: true }, { type: "docker" }] }),
    ).toEqual([
      expect.stringMatching(/^t.json:8:7 vm_name: \{\{env\}\} is allowed only in "variables"/),
      expect.stringMatching(/^t.json:9:7 builder "qemu": tsimg does not support "vnc_use_password"/),
    ]);
    expect(errors({ builders: [QEMU], provisioners: [{ type: "shell", inline: ["{{vault `a` `b`}}"] }] })).toEqual([
      expect.stringMatching(/^t.json:\d+:5 provisioner: \{\{vault\}\} reads HashiCorp Vault/),
    ]);
    expect(errors({ builders: [QEMU], "post-processors": ["vagrant"] })[0]).toMatch(
      /tsimg has no "vagrant" post-processor/,
    );
  });
});

describe("Go templates", () => {
  const context = { user: () => "u", templateDir: "/t", cwd: "/c", now: NOW, buildName: "b", buildType: "qemu" };
  test("functions, pipelines and run-time fields", () => {
    expect(renderGoTemplate("{{template_dir}} {{pwd}} {{timestamp}} {{ .HTTPIP }}:{{.HTTPPort}}", context)).toBe(
      "/t /c 1772600767 {{ .HTTPIP }}:{{.HTTPPort}}",
    );
    expect(renderGoTemplate('{{ isotime "2006-01-02 15:04:05 Mon Jan" | lower }}', context)).toBe(
      "2026-03-04 05:06:07 wed mar",
    );
    expect(goTime("Z07:00 03PM", NOW)).toBe("Z 05AM");
    expect(() => renderGoTemplate("{{nope}}", context)).toThrow("unknown template function {{nope}}");
  });

  test("{{packer_version}} is the version of what builds the image: tsimg's, from package.json", () => {
    const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(renderGoTemplate("built by {{packer_version}}", context)).toBe(`built by ${version}`);
  });

  test("a bare word argument is a function call, and ( ... ) a pipeline of its own, as in Go", () => {
    const named = { ...context, buildName: "qemu-ubuntu-2204" };
    // robox: {{split build_name "-" 1}} read build_name as the string "build_name" and failed.
    expect(renderGoTemplate('{{split build_name "-" 1}}', named)).toBe("ubuntu");
    expect(renderGoTemplate('{{ split (build_name | upper) "-" 0 }}-{{lower (user `x`)}}', named)).toBe("QEMU-u");
    expect(renderGoTemplate('{{ split "a|b" "|" 1 }}', context)).toBe("b");
    expect(() => renderGoTemplate('{{split nope "-" 0}}', context)).toThrow("unknown template function {{nope}}");
  });
});
