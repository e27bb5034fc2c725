// tsimg import's TOML: variables kept as ${var.x} where the template uses them, paths
// rewritten for the new file, the TOML loads to the same plan, and secrets stay out.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, test } from "vitest";
import { importTemplate } from "../../src/builder/import-template.js";
import { loadTemplate } from "../../src/builder/load-template.js";
import { ConfigErrors } from "../../src/core/errors.js";
import { outlineHcl } from "../../src/template/packer/hcl/outline.js";
import { isChosen } from "../../src/template/packer/select.js";

const root = mkdtempSync(join(tmpdir(), "tsimg-import-"));
const startDir = process.cwd();
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => process.chdir(startDir));
let dir = "";
let count = 0;
beforeEach(() => {
  dir = join(root, String(++count));
  mkdirSync(join(dir, "packer", "img"), { recursive: true });
  mkdirSync(join(dir, "images"));
  writeFileSync(join(dir, "disk.iso"), "");
  process.chdir(join(dir, "packer", "img"));
});

const TEMPLATE = `variable "checksum" {
  default = "${"a".repeat(64)}"
}
variable "password" {
  default   = "placeholder"
  sensitive = true
}
source "qemu" "img" {
  iso_url      = "../../disk.iso"
  iso_checksum = "sha256:\${var.checksum}"
  ssh_username = "root"
  // the password comes from a variable
  ssh_password = var.password
  shutdown_command = "echo \${upper(var.checksum)} > /dev/null"
}
build {
  sources = ["source.qemu.img"]
}
`;

describe("tsimg import", () => {
  test("variables stay variables, functions of them are written as they evaluate, paths move", () => {
    writeFileSync("img.pkr.hcl", TEMPLATE);
    const out = join(dir, "images", "img.toml");
    const { toml } = importTemplate("img.pkr.hcl", out, { env: {} });
    expect(toml).toContain('iso_checksum = "sha256:${var.checksum}"');
    expect(toml).toContain('# the password comes from a variable\nssh_password = "${var.password}"');
    expect(toml).toContain(`shutdown_command = "echo ${"A".repeat(64)} > /dev/null"`);
    expect(toml).toContain('iso_url = "../disk.iso"');
    writeFileSync(out, toml);
    const fromToml = loadTemplate(out, { env: {}, vars: { checksum: "b".repeat(64) } });
    expect(fromToml.source.iso_checksum).toBe(`sha256:${"b".repeat(64)}`);
    const original = loadTemplate("img.pkr.hcl", { env: {} });
    expect({ ...loadTemplate(out, { env: {} }), templatePath: "", templateDir: "" }).toEqual({
      ...original,
      templatePath: "",
      templateDir: "",
    });
  });

  test("a secret given with --var that would land in the file is refused; a TOML template is not imported", () => {
    const out = join(dir, "images", "img.toml");
    writeFileSync("img.pkr.hcl", TEMPLATE.replace("ssh_password = var.password", 'ssh_password = "x${var.password}"'));
    expect(importTemplate("img.pkr.hcl", out, { env: {}, vars: { password: "hunter22" } }).toml).toContain(
      'ssh_password = "x${var.password}"',
    );
    writeFileSync(
      "img.pkr.hcl",
      TEMPLATE.replace("ssh_password = var.password", "ssh_password = substr(var.password, 0, 8)"),
    );
    expect(() => importTemplate("img.pkr.hcl", out, { env: {}, vars: { password: "hunter22" } })).toThrow(ConfigErrors);
    writeFileSync("x.toml", "");
    expect(() => importTemplate("x.toml", out, {})).toThrow(ConfigErrors);
  });
});

describe("HCL outline and build selection", () => {
  test("blocks and attributes in order, with positions and the comments directly above", () => {
    const outline = outlineHcl(
      [
        "# about b",
        "build {",
        "  // first",
        '  provisioner "shell" { inline = ["}"] }',
        "",
        "  /* parted by a blank line */",
        "",
        '  provisioner "file" {',
        "    content = <<EOT",
        "  } not the end",
        "EOT",
        '    x = "${ "}" }"',
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    const build = outline.blocks[0]!;
    expect(build).toMatchObject({ type: "build", line: 2, column: 1, comments: ["about b"] });
    expect(build.blocks.map((b) => [b.labels[0], b.line, b.comments])).toEqual([
      ["shell", 4, ["first"]],
      ["file", 8, []],
    ]);
    expect(build.blocks[1]!.attributes.map((a) => [a.name, a.line])).toEqual([
      ["content", 9],
      ["x", 12],
    ]);
  });

  test("only/except patterns with globs, as Packer matches builds", () => {
    const names = ["qemu.base", "source.qemu.base", "main.qemu.base"];
    expect(isChosen(names, undefined, undefined)).toBe(true);
    expect(isChosen(names, ["qemu.*"], [])).toBe(true);
    expect(isChosen(names, ["*.qemu.base"], [])).toBe(true);
    expect(isChosen(names, ["amazon-ebs.*"], [])).toBe(false);
    expect(isChosen(names, [], ["main.*"])).toBe(false);
  });
});
