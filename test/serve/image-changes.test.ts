// The note's "what changes in the image" section: real sqlite, real SBOMs made by the SBOM
// writer, and the real note renderer.
import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSbom } from "../../src/inventory/sbom.js";
import type { Inventory } from "../../src/inventory/types.js";
import { ImageChanges } from "../../src/serve/image-changes.js";
import { NOTE_LIMIT, renderNote } from "../../src/serve/report.js";
import type { BuildRecord, RequestRecord } from "../../src/serve/store.js";

const inventory = (packages: Array<[string, string]>): Inventory => ({
  os: { ID: "tinyos" },
  packages: packages.map(([name, version]) => ({ name, version, arch: "amd64", manager: "dpkg" })),
  services: [],
  users: [{ name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/sh" }],
  groups: [],
  ports: [{ protocol: "tcp", address: "0.0.0.0", port: 22 }],
  files: [],
  warnings: [],
});
const sbom = (inv: Inventory) =>
  renderSbom(inv, {
    name: "tinyos",
    timestamp: 0,
    runUuid: "5f0c6c2a-1b6e-4a0e-9a53-0d7c1c2b3a4d",
    tsimgVersion: "0.1.0",
  });

function build(id: number): BuildRecord {
  return {
    id,
    requestId: id,
    projectId: 7,
    mrIid: 3,
    image: "tinyos",
    sha: `${id}`.repeat(40).slice(0, 40),
    repoUrl: "x",
    requestedBy: "alice",
    state: "success",
    reason: null,
    failingStep: null,
    createdAt: 0,
    startedAt: 0,
    finishedAt: 1000,
    artifacts: [],
    workDir: null,
    worker: null,
  };
}
const request: RequestRecord = {
  id: 1,
  projectId: 7,
  mrIid: 3,
  noteId: 1,
  requestedBy: "alice",
  resultNoteId: null,
  createdAt: 0,
};

const sbomOfBuild3 = () =>
  sbom(
    inventory([
      ["busybox", "1.35"],
      ["openssl", "3.0.2"],
      ["hello", "2.10"],
    ]),
  );

/** Builds 1 and 3 on main (openssl changed, hello added), build 2 on another target branch. */
function threeBuilds(): ImageChanges {
  const changes = new ImageChanges(mkdtempSync(join(tmpdir(), "tsimg-changes-")));
  const main1: Array<[string, string]> = [
    ["busybox", "1.35"],
    ["openssl", "3.0.1"],
  ];
  changes.record(build(1), "main", sbom(inventory(main1)), 0);
  changes.record(build(2), "release", sbom(inventory([["busybox", "1.36"]])), 0);
  changes.record(build(3), "main", sbomOfBuild3(), 0);
  return changes;
}

describe("ImageChanges", () => {
  it("first build: says there is nothing to compare; second: the package changes, in a collapsed section", () => {
    const changes = threeBuilds();
    expect(changes.section(build(1))).toContain("No earlier successful build of tinyos for `main`");
    const third = changes.section(build(3))!;
    expect(third).toMatch(/^<details><summary>What changes in the image: tinyos<\/summary>/);
    expect(third).toContain("Compared with build #1"); // not #2: another target branch
    expect(third).toContain("- `+ hello 2.10 (amd64)`");
    expect(third).toContain("- `~ openssl 3.0.1 -> 3.0.2`");
    expect(third).not.toContain("busybox");
    expect(changes.section({ ...build(4) })).toBeUndefined();
    const note = renderNote(request, [build(3)], {
      publicUrl: "http://x",
      now: 0,
      tail: () => [],
      changes: (b) => changes.section(b),
    });
    expect(note).toContain("What changes in the image: tinyos");
    changes.close();
  });

  it("a huge change is summarized and the note stays within the limit", () => {
    const changes = new ImageChanges(mkdtempSync(join(tmpdir(), "tsimg-changes-")));
    changes.record(build(1), "main", sbom(inventory([])), 0);
    const many = Array.from({ length: 5000 }, (_, i): [string, string] => [`package-${i}`, "1.0"]);
    changes.record(build(2), "main", sbom(inventory(many)), 0);
    const section = changes.section(build(2))!;
    expect(section).toContain("**packages** (5000)");
    expect(section).toContain("- ... and 4975 more");
    const note = renderNote(request, [build(2)], {
      publicUrl: "http://x",
      now: 0,
      tail: () => [],
      changes: (b) => changes.section(b),
    });
    expect(note.length).toBeLessThan(NOTE_LIMIT);
    changes.close();
  });

  it("the image history's short diff: kept when a build is recorded, against the same branch's build before it", () => {
    const changes = threeBuilds();
    // The same packages as build 3.
    changes.record(build(5), "main", sbomOfBuild3(), 0);
    const diffs = changes.diffsOf([1, 2, 3, 4, 5]);
    expect(diffs.get(1)).toEqual({ base: null, summary: "first recorded build for its target branch", changes: [] });
    expect(diffs.get(2)).toMatchObject({ base: null });
    expect(diffs.get(3)).toEqual({
      base: 1,
      summary: "2 packages",
      changes: ["+ hello 2.10 (amd64)", "~ openssl 3.0.1 -> 3.0.2"],
    });
    expect(diffs.has(4)).toBe(false); // nothing recorded: failed, or before serve kept SBOMs
    expect(diffs.get(5)).toEqual({ base: 3, summary: "no changes in the image", changes: [] });
    changes.close();
  });

  it("a long change list is cut, with a count of the rest", () => {
    const changes = new ImageChanges(mkdtempSync(join(tmpdir(), "tsimg-changes-")));
    changes.record(build(1), "main", sbom(inventory([])), 0);
    const many = Array.from({ length: 40 }, (_, i): [string, string] => [`package-${i}`, "1.0"]);
    changes.record(build(2), "main", sbom(inventory(many)), 0);
    const diff = changes.diffsOf([2]).get(2)!;
    expect(diff.summary).toBe("40 packages");
    expect(diff.changes).toHaveLength(13);
    expect(diff.changes.at(-1)).toBe("... and 28 more");
    changes.close();
  });

  it("a database from before the history's diffs gets their column, and its rows show none", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-changes-"));
    const old = new Database(join(dir, "image-contents.db"));
    old.exec(`CREATE TABLE image_contents (
      build_id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, image TEXT NOT NULL, target_branch TEXT NOT NULL,
      sha TEXT NOT NULL, sbom TEXT NOT NULL, recorded_at INTEGER NOT NULL)`);
    old
      .prepare("INSERT INTO image_contents VALUES (1, 7, 'tinyos', 'main', ?, ?, 0)")
      .run("1".repeat(40), sbom(inventory([])));
    old.close();
    const changes = new ImageChanges(dir);
    expect(changes.diffsOf([1]).size).toBe(0);
    changes.record(build(2), "main", sbom(inventory([["hello", "2.10"]])), 0);
    expect(changes.diffsOf([1, 2]).get(2)).toMatchObject({ base: 1, changes: ["+ hello 2.10 (amd64)"] });
    changes.close();
  });
});
