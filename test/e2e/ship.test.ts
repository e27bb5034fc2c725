// Issue 15, done-when 1-3: know what you ship. Two tinyos builds from identical templates in
// two directories whose provisioner script differs by one line (installing Debian's hello
// from the fixture's offline .debs with busybox's dpkg): their inventories and SBOMs list
// the image's real packages, the SBOM validates against CycloneDX's schema, and `tsimg diff
// --json` shows exactly that package and that script. A third build from the first's disk
// fails its boot test and publishes nothing.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ManifestFile } from "../../src/postprocessors/manifest.js";
import { cycloneDxErrors } from "../inventory/cyclonedx-schema.js";
import { ISO, ROOT, requireFixture, runCli, waitNoQemu } from "./helpers.js";

const VM = "ship-e2e.qcow2";
let work: string;

/** A copy of the tinyos example whose output_directory comes from $SHIP_OUT (so both templates are byte-identical). */
function project(name: string, extraScriptLine = ""): string {
  const dir = join(work, name);
  for (const sub of ["images", "kickstart", "resources"]) cpSync(join(ROOT, sub), join(dir, sub), { recursive: true });
  mkdirSync(join(dir, "iso"));
  cpSync(ISO, join(dir, "iso/tinyos.iso"), { dereference: true });
  cpSync(join(ROOT, "iso/SHA256SUMS"), join(dir, "iso/SHA256SUMS"));
  const template = join(dir, "images/tinyos.toml");
  const text = readFileSync(template, "utf8").replace(
    "[source]\n",
    `[source]\nvm_name = "${VM}"\noutput_directory = '\${env("SHIP_OUT")}'\nheadless = true\naccelerator = "tcg"\n`,
  );
  writeFileSync(
    template,
    `${text}\n[[post_processor]]\ntype = "manifest"\noutput = "manifest.json"\nstrip_path = true\n`,
  );
  const script = join(dir, "images/tinyos/provisioner.sh");
  writeFileSync(script, readFileSync(script, "utf8").replace("sync\n", `${extraScriptLine}sync\n`));
  return template;
}

async function buildInto(template: string, out: string, extraArgs: string[] = []) {
  process.env.SHIP_OUT = out;
  try {
    return await runCli(["build", ...extraArgs, template]).done;
  } finally {
    delete process.env.SHIP_OUT;
  }
}

const HELLO = "dpkg -i -F depends /var/cache/tinyos/debs/hello_*.deb\n";

describe("boot test, inventory, SBOM and tsimg diff", () => {
  let outA: string;
  let outB: string;

  beforeAll(async () => {
    requireFixture();
    work = mkdtempSync(join(tmpdir(), "tsimg-e2e-ship-"));
    outA = join(work, "out-a");
    outB = join(work, "out-b");
    const a = await buildInto(project("a"), outA);
    expect(a.code, a.output).toBe(0);
    const b = await buildInto(project("b", HELLO), outB);
    expect(b.code, b.output).toBe(0);
    expect(b.output).toContain("Setting up hello");
  }, 900_000);

  it("the inventory and the SBOM list the image's real packages, and the SBOM validates", () => {
    const manifest = JSON.parse(readFileSync(join(outA, "manifest.json"), "utf8")) as ManifestFile;
    const entry = manifest.builds[0]!;
    const inventory = entry.inventory as { packages: Array<{ name: string; version: string }>; os: { ID: string } };
    // The fixture's versions.txt lists every .deb its build unpacked ("Package: name Version: version").
    const versions = readFileSync(join(dirname(realpathSync(ISO)), "versions.txt"), "utf8")
      .split("\n")
      .flatMap((l) => /^Package: (\S+) Version: (\S+)$/.exec(l)?.slice(1, 3).join(" ") ?? []);
    const listed = inventory.packages.map((p) => `${p.name} ${p.version}`);
    expect(listed.filter((p) => !versions.includes(p))).toEqual([]);
    const names = inventory.packages.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["busybox-static", "openssh-server", "libc6", "e2fsprogs"]));
    expect(names.some((n) => /^linux-image-.*-cloud-amd64$/.test(n))).toBe(true);
    expect(names).not.toContain("hello");
    expect(inventory.os.ID).toBe("tinyos");
    // The SBOM beside the artifact: the same packages, CycloneDX 1.6, schema-valid, its digest in the manifest.
    const sbomPath = join(outA, "ship-e2e.cdx.json");
    const sbom = JSON.parse(readFileSync(sbomPath, "utf8"));
    expect(cycloneDxErrors(sbom)).toEqual([]);
    expect(sbom.specVersion).toBe("1.6");
    expect(sbom.components.map((c: { name: string; version: string }) => `${c.name} ${c.version}`).sort()).toEqual(
      [...listed].sort(),
    );
    expect(entry.sbom).toMatchObject({ file: "ship-e2e.cdx.json" });
    expect(entry.sbom!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("tsimg diff --json: exactly the hello package and the provisioner script", async () => {
    const { code, output } = await runCli(["diff", "--json", join(outA, "manifest.json"), join(outB, "manifest.json")])
      .done;
    expect(code).toBe(1);
    const diff = JSON.parse(output);
    expect(diff.packages).toEqual({
      added: [{ name: "hello", version: expect.stringMatching(/^2\./), arch: "amd64", manager: "dpkg" }],
      removed: [],
      changed: [],
    });
    for (const list of ["services", "users", "groups", "ports", "files"])
      expect(diff[list]).toEqual({ added: [], removed: [] });
    expect(diff.os).toEqual([]);
    expect(diff.lineage).toEqual([]);
    expect(diff.inputs).toHaveLength(1);
    expect(diff.inputs[0]).toMatchObject({ key: "provisioners[1].scripts[0].sha256", file: "tinyos/provisioner.sh" });
    expect(diff.inputs[0].unified).toContain(`+${HELLO.trim()}`);
    // The text form, and no difference between an image and itself (exit 0); output dirs work too.
    const text = await runCli(["diff", outA, outB]).done;
    expect(text.output).toMatch(/packages:\n {2}\+ hello 2\.\S+ \(amd64\)/);
    const same = await runCli(["diff", outA, join(outA, "ship-e2e.cdx.json")]).done;
    expect(same.code, same.output).toBe(0);
  }, 60_000);

  it("a failing check fails the build before any post-processor: nothing is published, the check and its output are named", async () => {
    const dir = join(work, "c");
    mkdirSync(dir);
    const published = join(work, "published");
    writeFileSync(
      join(dir, "image.toml"),
      `[image]\nname = "ship-fail"\n\n[source]\ndisk_image = true\niso_url = "${join(outA, VM)}"\niso_checksum = "none"\n` +
        `output_directory = "${join(work, "out-c")}"\naccelerator = "tcg"\nheadless = true\nssh_username = "root"\n` +
        `ssh_password = "tsimg-example"\nshutdown_command = "/sbin/halt -h -p"\n\n` +
        `[[test]]\nname = "no such file"\ninline = ["echo looking for it", "test -f /nonexistent"]\n\n` +
        `[[post_processor]]\ntype = "shell-local"\ninline = ["touch ${published}"]\n`,
    );
    const { code, output } = await runCli(["build", join(dir, "image.toml")]).done;
    expect(code).toBe(1);
    expect(output).toMatch(/boot test: check "no such file" failed: exited with code 1/);
    expect(output).toContain("looking for it");
    expect(output).not.toContain("Running post-processors");
    expect(existsSync(published)).toBe(false);
    expect(existsSync(join(work, "out-c"))).toBe(false);
    expect(await waitNoQemu("ship-fail")).toEqual([]);
  }, 600_000);
});
