// serve's image discovery: which images a repository holds by image_globs, TOML files and
// Packer folders alike, and which of them a change touches.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  checkImageGlob,
  DEFAULT_IMAGE_GLOBS,
  discoverImages,
  findTemplateOnDisk,
  globRoots,
  imagesChanged,
} from "../../src/serve/image-discovery.js";

// A repository laid out as the users keep theirs, plus a TOML images/ folder and noise.
const REPO = [
  "images/tinyos.toml",
  "images/tinyos/provisioner.sh",
  "images/README.md",
  "images/Bad Name.toml",
  "kickstart/rocky9.ks",
  "packer/rocky9/rocky9.pkr.hcl",
  "packer/rocky9/provisioner.sh",
  "packer/rocky9/env.yaml",
  "packer/centos7/centos7.pkr.hcl",
  "packer/centos7/variables.pkr.hcl",
  "packer/debian12/debian12.pkr.json",
  "packer/notes/readme.md",
  "packer/deep/er/x.pkr.hcl",
  "resources/motd",
];

describe("discoverImages", () => {
  const images = discoverImages(REPO, DEFAULT_IMAGE_GLOBS);

  test("finds TOML templates by file and Packer templates by folder (HCL2 in native or JSON syntax)", () => {
    expect(images).toEqual([
      { name: "centos7", template: "packer/centos7", files: { under: "packer/centos7/" } },
      { name: "debian12", template: "packer/debian12", files: { under: "packer/debian12/" } },
      { name: "rocky9", template: "packer/rocky9", files: { under: "packer/rocky9/" } },
      {
        name: "tinyos",
        template: "images/tinyos.toml",
        files: { exact: "images/tinyos.toml", under: "images/tinyos.toml/" },
      },
    ]);
  });

  test("a folder with no template, a name a comment cannot type, and deeper files are not images", () => {
    const names = images.map((i) => i.name);
    expect(names).not.toContain("notes");
    expect(names).not.toContain("Bad Name");
    expect(names).not.toContain("deep");
  });

  test("the first glob wins a name both hold", () => {
    const both = discoverImages(["images/rocky9.toml", "packer/rocky9/rocky9.pkr.hcl"], DEFAULT_IMAGE_GLOBS);
    expect(both).toEqual([expect.objectContaining({ name: "rocky9", template: "images/rocky9.toml" })]);
  });

  test("other layouts by glob: legacy JSON templates, one folder per image of TOML", () => {
    expect(discoverImages(["templates/base.json", "templates/x.txt"], ["templates/*.json"])).toEqual([
      {
        name: "base",
        template: "templates/base.json",
        files: { exact: "templates/base.json", under: "templates/base.json/" },
      },
    ]);
    expect(discoverImages(["os/web/image.toml"], ["os/*/image.toml"])).toEqual([
      { name: "web", template: "os/web/image.toml", files: { under: "os/web/" } },
    ]);
  });
});

describe("imagesChanged", () => {
  const images = discoverImages(REPO, DEFAULT_IMAGE_GLOBS);
  test.each([
    [["packer/rocky9/provisioner.sh"], ["rocky9"]],
    [
      ["packer/rocky9/env.yaml", "images/tinyos.toml"],
      ["rocky9", "tinyos"],
    ],
    [["kickstart/rocky9.ks", "README.md"], []],
    [["packer/rocky90/x.pkr.hcl"], []],
  ])("%j touches %j", (changed, expected) => {
    expect(imagesChanged(images, changed)).toEqual(expected);
  });
});

describe("globs in serve.toml", () => {
  test.each(["images/*.toml", "packer/*/*.pkr.hcl", "templates/*.json"])("%s is accepted", (glob) => {
    expect(checkImageGlob(glob)).toBeUndefined();
  });
  test.each([
    ["/etc/*.toml", "inside the repository"],
    ["../x/*.toml", "inside the repository"],
    ["images/[ab].toml", 'only "*"'],
    ["images/tinyos.toml", 'expected a "*"'],
  ])("%s is refused", (glob, why) => {
    expect(checkImageGlob(glob)).toContain(why);
  });

  test("the folders to list are the globs' fixed leading folders", () => {
    expect(globRoots(["images/*.toml", "packer/*/*.pkr.hcl", "a/b/*/c.toml"])).toEqual(["images", "packer", "a/b"]);
  });
});

describe("findTemplateOnDisk", () => {
  test("finds a Packer folder and a TOML file in a checked-out repository", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-discovery-"));
    try {
      for (const file of ["packer/rocky9/rocky9.pkr.hcl", "packer/rocky9/env.yaml", "images/tinyos.toml"]) {
        mkdirSync(join(dir, file, ".."), { recursive: true });
        writeFileSync(join(dir, file), "");
      }
      expect(findTemplateOnDisk(dir, "rocky9", DEFAULT_IMAGE_GLOBS)).toBe(join(dir, "packer/rocky9"));
      expect(findTemplateOnDisk(dir, "tinyos", DEFAULT_IMAGE_GLOBS)).toBe(join(dir, "images/tinyos.toml"));
      expect(findTemplateOnDisk(dir, "centos7", DEFAULT_IMAGE_GLOBS)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
