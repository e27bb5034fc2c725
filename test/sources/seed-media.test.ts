// Seed media made with the real tools (xorriso; mkfs.fat and mcopy) and read back with them.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeFloppy, makeSeedCd, matchCdFiles } from "../../src/sources/seed-media.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tsimg-media-"));
  mkdirSync(join(dir, "seed/nested"), { recursive: true });
  writeFileSync(join(dir, "seed/a.txt"), "A\n");
  writeFileSync(join(dir, "seed/nested/b.txt"), "B\n");
  writeFileSync(join(dir, "ks.cfg"), "text\n");
  mkdirSync(join(dir, "work"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("matchCdFiles", () => {
  test("globs, directories with and without a trailing slash, in order and without duplicates", () => {
    expect(matchCdFiles(["*.cfg", "seed", "seed/", "seed/*.txt", "ks.cfg"], dir)).toEqual([
      { path: join(dir, "ks.cfg"), contentsOnly: false },
      { path: join(dir, "seed"), contentsOnly: false },
      { path: join(dir, "seed/a.txt"), contentsOnly: false },
    ]);
    expect(matchCdFiles(["nothing-*"], dir)).toEqual([]);
  });
});

describe("makeSeedCd", () => {
  test("a NoCloud-style CD: label, files at the root, a directory's contents, inline content", async () => {
    const dest = join(dir, "cd.iso");
    const placed = await makeSeedCd({
      files: [
        { path: join(dir, "ks.cfg"), contentsOnly: false },
        { path: join(dir, "seed"), contentsOnly: true },
      ],
      content: { "user-data": "#cloud-config\n", "meta/meta-data": "instance-id: x\n" },
      label: "cidata",
      dest,
      workDir: join(dir, "work"),
    });
    expect(placed).toEqual(["ks.cfg", "seed/*", "user-data", "meta/meta-data"]);
    expect(
      execFileSync("xorriso", ["-indev", dest, "-pvd_info"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
    ).toMatch(/Volume Id\s*:\s*cidata/);
    const out = join(dir, "cd-out");
    execFileSync("xorriso", ["-osirrox", "on", "-indev", dest, "-extract", "/", out], { stdio: "ignore" });
    expect(readdirSync(out, { recursive: true }).map(String).sort()).toEqual([
      "a.txt",
      "ks.cfg",
      "meta",
      "meta/meta-data",
      "nested",
      "nested/b.txt",
      "user-data",
    ]);
    expect(readFileSync(join(out, "user-data"), "utf8")).toBe("#cloud-config\n");
    expect(readdirSync(join(dir, "work"))).toEqual([]); // staging removed
  });

  test("cd_content may not climb out of the CD", async () => {
    const error = await makeSeedCd({
      files: [],
      content: { "../x": "no" },
      dest: join(dir, "bad.iso"),
      workDir: join(dir, "work"),
    }).catch((e: Error) => e);
    expect((error as Error).message).toBe('"../x" is not a path inside the medium');
  });
});

describe("makeFloppy", () => {
  test("a 1.44 MB FAT image with the label, the files and the content", async () => {
    const dest = join(dir, "floppy.img");
    await makeFloppy({
      files: [
        { path: join(dir, "ks.cfg"), contentsOnly: false },
        { path: join(dir, "seed"), contentsOnly: false },
      ],
      content: { "answer.txt": "42\n" },
      label: "tsimg",
      dest,
      workDir: join(dir, "work"),
    });
    expect(readFileSync(dest).length).toBe(1440 * 1024);
    const mtools = { encoding: "utf8" as const, env: { ...process.env, MTOOLS_SKIP_CHECK: "1" } };
    expect(execFileSync("mlabel", ["-i", dest, "-s", "::"], mtools)).toMatch(/TSIMG/);
    expect(execFileSync("mtype", ["-i", dest, "::/ks.cfg"], mtools)).toBe("text\n");
    expect(execFileSync("mtype", ["-i", dest, "::/answer.txt"], mtools)).toBe("42\n");
    expect(execFileSync("mtype", ["-i", dest, "::/seed/nested/b.txt"], mtools)).toBe("B\n");
  });
});
