// Where a template may point output_directory and vm_name: never at a place tsimg would
// destroy by replacing or cleaning it up (a checkout, a home, the root), never outside.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { ConfigErrors } from "../../src/core/errors.js";
import { loadTemplate } from "../../src/builder/load-template.js";
import { refuseOutputDirectory, refuseVmName, type OutputPathContext } from "../../src/qemu/output-paths.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "tsimg-output-paths-")));
const startDir = process.cwd();
afterEach(() => process.chdir(startDir));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A checkout with a template folder in it, and a home above neither.
const checkout = join(root, "checkout");
const images = join(checkout, "images");
const home = join(root, "home", "ops");
mkdirSync(join(checkout, ".git"), { recursive: true });
mkdirSync(images, { recursive: true });
mkdirSync(home, { recursive: true });
mkdirSync(join(root, "other-repo", ".git"), { recursive: true });
symlinkSync(checkout, join(root, "link-to-checkout"));
const context: OutputPathContext = { templateDir: images, cwd: checkout, home };

describe("output_directory", () => {
  test.each([
    ["/", "is the root directory"],
    [checkout, "is the current directory"],
    [images, "is the template's directory"],
    [root, `holds the current directory (${checkout})`],
    [home, "is your home directory"],
    [join(root, "home"), `holds your home directory (${home})`],
    [join(root, "other-repo"), "holds a Git repository (.git)"],
    [join(root, "link-to-checkout"), "is the current directory"],
  ])("%s is refused: %s", (dir, why) => {
    expect(refuseOutputDirectory(dir, dir, context)).toBe(
      `output_directory ${JSON.stringify(dir)} (${dir}) ${why}: tsimg would delete it when a build fails, and --force would replace it`,
    );
  });

  test.each([
    join(checkout, "output-rocky9"),
    join(images, "out"),
    join(home, "images", "out"),
    join(root, "not-yet", "there"),
  ])("%s is allowed", (dir) => {
    expect(refuseOutputDirectory(dir, dir, context)).toBeUndefined();
  });
});

describe("vm_name", () => {
  test.each([
    ["", 'vm_name "" is empty: name the disk image file, e.g. "rocky9.qcow2"'],
    [
      "../victim.qcow2",
      'vm_name "../victim.qcow2" must be a plain file name inside output_directory, without "/" or ".."',
    ],
    [
      "sub/disk.qcow2",
      'vm_name "sub/disk.qcow2" must be a plain file name inside output_directory, without "/" or ".."',
    ],
    ["..", 'vm_name ".." must be a plain file name inside output_directory, without "/" or ".."'],
    ["serial.log", 'vm_name "serial.log" is a file tsimg itself writes into output_directory: pick another name'],
  ])("%j is refused", (name, message) => {
    expect(refuseVmName(name)).toBe(message);
  });

  test("a plain file name is allowed", () => expect(refuseVmName("rocky9-9.2.qcow2")).toBeUndefined());
});

describe("loading a template (build and validate both load it)", () => {
  const template = (source: string) => {
    const path = join(images, `t${Math.random().toString(36).slice(2)}.toml`);
    writeFileSync(path, `[source]\niso_url = "disk.iso"\niso_checksum = "none"\nssh_username = "root"\n${source}\n`);
    return path;
  };
  const problems = (path: string, env: Record<string, string> = {}) => {
    try {
      loadTemplate(path, { env });
      return [];
    } catch (error) {
      return (error as ConfigErrors).errors.map((e) => `${e.key}: ${e.message}`);
    }
  };

  test.each([
    ['output_directory = "."', '"."'],
    ['output_directory = ""', '""'],
    ["output_directory = '${env(\"OUT\")}'", '""'],
  ])("%s run from the checkout is refused", (line, written) => {
    process.chdir(checkout);
    expect(problems(template(line))).toEqual([
      `source.output_directory: output_directory ${written} (${checkout}) is the current directory: tsimg would delete it when a build fails, and --force would replace it`,
    ]);
  });

  test("vm_name with ../ is refused with its key", () => {
    process.chdir(checkout);
    expect(problems(template('vm_name = "../../victim"'))).toEqual([
      'source.vm_name: vm_name "../../victim" must be a plain file name inside output_directory, without "/" or ".."',
    ]);
  });

  test("the default output-<name> in the checkout is fine", () => {
    process.chdir(checkout);
    expect(problems(template(""))).toEqual([]);
  });
});
