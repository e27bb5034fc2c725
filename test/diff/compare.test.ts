import { describe, expect, it } from "vitest";
import { addUnifiedDiffs, compareSnapshots, countDifferences } from "../../src/diff/compare.js";
import { renderDiffMarkdown, renderDiffText } from "../../src/diff/render.js";
import { fromJson, type Snapshot } from "../../src/diff/snapshot.js";

const base: Snapshot = {
  label: "A",
  packages: [
    { name: "openssl", version: "3.0.1", arch: "amd64" },
    { name: "vim", version: "9.0", arch: "amd64" },
  ],
  os: { ID: "debian" },
  kernel: "6.1.0-1",
  services: ["ssh.service"],
  users: ["root (uid 0, /bin/sh)"],
  groups: [],
  ports: ["tcp 0.0.0.0:22"],
  files: [],
  inputs: { provisioners: [{ type: "shell", scripts: [{ path: "setup.sh", sha256: "aa" }] }] },
  lineage: null,
};

describe("compareSnapshots", () => {
  it("no differences between equal snapshots", () => {
    const d = compareSnapshots(base, { ...base, label: "B" });
    expect(countDifferences(d)).toBe(0);
    expect(renderDiffText(d)).toContain("no differences");
  });

  it("packages added, removed, changed; services, ports; an input file's hash names the file", () => {
    const b: Snapshot = {
      ...base,
      label: "B",
      packages: [
        { name: "openssl", version: "3.0.2", arch: "amd64" },
        { name: "nginx", version: "1.22", arch: "amd64" },
      ],
      services: ["nginx.service", "ssh.service"],
      ports: ["tcp 0.0.0.0:22", "tcp 0.0.0.0:80"],
      inputs: { provisioners: [{ type: "shell", scripts: [{ path: "setup.sh", sha256: "bb" }] }] },
    };
    const d = compareSnapshots(base, b);
    expect(d.packages).toEqual({
      added: [{ name: "nginx", version: "1.22", arch: "amd64" }],
      removed: [{ name: "vim", version: "9.0", arch: "amd64" }],
      changed: [{ name: "openssl", from: "3.0.1", to: "3.0.2" }],
    });
    expect(d.services).toEqual({ added: ["nginx.service"], removed: [] });
    expect(d.ports).toEqual({ added: ["tcp 0.0.0.0:80"], removed: [] });
    expect(d.inputs).toEqual([{ key: "provisioners[0].scripts[0].sha256", from: "aa", to: "bb", file: "setup.sh" }]);
    expect(countDifferences(d)).toBe(6);
    expect(renderDiffText(d)).toContain("~ openssl 3.0.1 -> 3.0.2");
  });

  it("a changed inline provisioner is one change, shown as a unified diff of its commands", async () => {
    const inline = (lines: string[]) => ({ provisioners: [{ type: "shell", inline: lines }] });
    const a: Snapshot = { ...base, inputs: inline(["apt-get update", "echo done"]) };
    const b: Snapshot = {
      ...base,
      label: "B",
      inputs: inline(["apt-get update", "apt-get install -y hello", "echo done"]),
    };
    const d = compareSnapshots(a, b);
    expect(d.inputs).toEqual([
      {
        key: "provisioners[0].inline",
        from: "apt-get update\necho done\n",
        to: "apt-get update\napt-get install -y hello\necho done\n",
      },
    ]);
    await addUnifiedDiffs(d, a, b); // no template directory needed: the commands are in the manifests
    const text = renderDiffText(d);
    expect(text).toContain("provisioners[0].inline: 2 lines -> 3 lines");
    expect(text).toContain("  --- A/provisioners[0].inline\n  +++ B/provisioners[0].inline\n");
    expect(text).toContain("   apt-get update\n  +apt-get install -y hello\n   echo done");
  });

  it("the Markdown form summarizes long lists", () => {
    const many = Array.from({ length: 100 }, (_, i) => ({ name: `pkg${String(i).padStart(3, "0")}`, version: "1" }));
    const d = compareSnapshots({ ...base, packages: [] }, { ...base, label: "B", packages: many });
    const md = renderDiffMarkdown(d, { maxItems: 10, maxDiffLines: 5 });
    expect(md).toContain("**packages** (100)");
    expect(md).toContain("- ... and 90 more");
    expect(md.split("\n").filter((l) => l.startsWith("- `+ pkg"))).toHaveLength(10);
  });

  it("reads an SBOM: packages and tsimg properties; no inputs, said in a note", () => {
    const sbom = {
      bomFormat: "CycloneDX",
      metadata: {
        component: {
          properties: [
            { name: "tsimg:port", value: "tcp6::::22" },
            { name: "tsimg:kernel", value: "6.1" },
          ],
        },
      },
      components: [{ name: "hello", version: "2.10-3", purl: "pkg:deb/tinyos/hello@2.10-3?arch=amd64" }],
    };
    const s = fromJson(sbom, "x.cdx.json");
    expect(s.packages).toEqual([{ name: "hello", version: "2.10-3", arch: "amd64" }]);
    expect(s.ports).toEqual(["tcp6 :::22"]);
    expect(compareSnapshots(s, s).notes[0]).toMatch(/SBOM does not record/);
  });
});
