// The note's "what changes in the image" section: real sqlite, real SBOMs made by the SBOM
// writer, and the real note renderer.
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

describe("ImageChanges", () => {
  it("first build: says there is nothing to compare; second: the package changes, in a collapsed section", () => {
    const changes = new ImageChanges(mkdtempSync(join(tmpdir(), "tsimg-changes-")));
    changes.record(
      build(1),
      "main",
      sbom(
        inventory([
          ["busybox", "1.35"],
          ["openssl", "3.0.1"],
        ]),
      ),
      0,
    );
    changes.record(build(2), "release", sbom(inventory([["busybox", "1.36"]])), 0);
    changes.record(
      build(3),
      "main",
      sbom(
        inventory([
          ["busybox", "1.35"],
          ["openssl", "3.0.2"],
          ["hello", "2.10"],
        ]),
      ),
      0,
    );
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
});
