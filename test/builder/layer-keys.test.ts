// Layer keys: equal inputs give equal keys wherever the checkout lives; a change to a
// provisioner's script changes its key and every later one, never an earlier one; host-side
// options and secrets do not enter; `cache = false` makes its layer and every later one unique.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { layerKeys, type LayerKeyInputs } from "../../src/builder/layer-keys.js";
import { loadTemplate } from "../../src/builder/load-template.js";

const ROOT = resolve(".");

/** A copy of the tinyos example (no ISO needed to load it: a missing ISO is only recorded). */
function project(patch: (text: string) => string = (t) => t): string {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-keys-"));
  for (const sub of ["images", "kickstart", "resources"]) cpSync(join(ROOT, sub), join(dir, sub), { recursive: true });
  const template = join(dir, "images/tinyos.toml");
  writeFileSync(template, patch(readFileSync(template, "utf8")));
  return template;
}

const inputs: LayerKeyInputs = { isoSha256: "ab".repeat(32), versions: { tsimg: "0.1.0" }, salt: "s1", nonce: "run-1" };
const keysOf = async (template: string, more: Partial<LayerKeyInputs> = {}) =>
  (await layerKeys(loadTemplate(template), { ...inputs, ...more })).map((k) => k.key);

describe("layer keys", () => {
  it("do not depend on where the template lives, its output names, host ports or the cache's own directory", async () => {
    const a = await keysOf(project());
    const template = project((t) =>
      t.replace(
        "[source]\n",
        '[source]\nvm_name = "other.qcow2"\nhost_port_min = 3000\nheadless = true\nlayer_cache_dir = "layers"\n',
      ),
    );
    const b = await keysOf(template);
    expect(a).toHaveLength(3);
    expect(b).toEqual(a);
    // The cache fills up between two builds: the keys stay (they once hashed its directory).
    mkdirSync(join(template, "../layers/some-layer"), { recursive: true });
    writeFileSync(join(template, "../layers/some-layer/meta.json"), "{}");
    expect(await keysOf(template)).toEqual(a);
  });

  it("change from the edited provisioner on, and only there", async () => {
    const template = project();
    const before = await keysOf(template);
    const script = join(template, "../tinyos/provisioner.sh");
    writeFileSync(script, readFileSync(script, "utf8") + "echo edited\n");
    const after = await keysOf(template);
    expect(after[0]).toBe(before[0]);
    expect(after[1]).toBe(before[1]);
    expect(after[2]).not.toBe(before[2]);
  });

  it("change everywhere when the ISO, the kickstart or QEMU's version changes", async () => {
    const template = project();
    const base = await keysOf(template);
    expect((await keysOf(template, { isoSha256: "cd".repeat(32) }))[0]).not.toBe(base[0]);
    expect((await keysOf(template, { versions: { tsimg: "0.1.0", qemu: "9" } }))[0]).not.toBe(base[0]);
    writeFileSync(join(template, "../../kickstart/tinyos.ks"), "text\nreboot\n");
    const edited = await keysOf(template);
    expect(edited.every((k, i) => k !== base[i])).toBe(true);
  });

  it("take secrets only as HMACs with the cache's salt", async () => {
    // rootpw hashed in both projects, so the kickstart is the same and tsimg does not compare
    // it with ssh_password (kickstart-password.ts): only the password differs between them.
    const hashedRootpw = (template: string) => {
      const kickstart = join(template, "../../kickstart/tinyos.ks");
      writeFileSync(kickstart, readFileSync(kickstart, "utf8").replace(/^rootpw .*$/m, "rootpw --iscrypted $6$s$h"));
      return template;
    };
    const template = hashedRootpw(project());
    const one = await keysOf(template);
    const otherSalt = await keysOf(template, { salt: "s2" });
    // The password (a sensitive variable) is in ssh_password: another salt, another install key.
    expect(otherSalt[0]).not.toBe(one[0]);
    const otherPassword = await keysOf(
      hashedRootpw(project((t) => t.replace('default = "tsimg-example"', 'default = "another-secret"'))),
    );
    expect(otherPassword[0]).not.toBe(one[0]);
  });

  it("cache = false: that layer and every later one differ on every run", async () => {
    const template = project((t) => t.replace('type = "file"\n', 'type = "file"\ncache = false\n'));
    const plan = loadTemplate(template);
    const run1 = await layerKeys(plan, inputs);
    const run2 = await layerKeys(plan, { ...inputs, nonce: "run-2" });
    expect(run1.map((k) => k.reusable)).toEqual([true, false, false]);
    expect(run2[0]!.key).toBe(run1[0]!.key);
    expect(run2[1]!.key).not.toBe(run1[1]!.key);
    expect(run2[2]!.key).not.toBe(run1[2]!.key);
  });
});
