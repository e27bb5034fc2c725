// The repository a serve e2e test builds from: the tinyos example (images, kickstart,
// resources, the fixture ISO) committed to a local git repository, as an MR's source.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeRepo } from "../serve/helpers.js";
import { ISO, ROOT } from "./helpers.js";

/**
 * A git repository holding the tinyos example; commit() adds a change and returns the new
 * head. `copyIso` commits the ISO itself rather than a link to the fixture cache (a build
 * user may not reach the cache); `patch` edits images/tinyos.toml.
 */
export function makeTinyosRepo(options: { copyIso?: boolean; patch?: (template: string) => string } = {}): {
  dir: string;
  sha: string;
  commit: (file: string, text: string) => string;
} {
  const base = makeRepo();
  for (const sub of ["images", "kickstart", "resources"])
    cpSync(join(ROOT, sub), join(base.dir, sub), { recursive: true });
  mkdirSync(join(base.dir, "iso"), { recursive: true });
  if (options.copyIso) cpSync(ISO, join(base.dir, "iso/tinyos.iso"), { dereference: true });
  else symlinkSync(ISO, join(base.dir, "iso/tinyos.iso"));
  cpSync(join(ROOT, "iso/SHA256SUMS"), join(base.dir, "iso/SHA256SUMS"));
  if (options.patch) {
    const template = join(base.dir, "images/tinyos.toml");
    writeFileSync(template, options.patch(readFileSync(template, "utf8")));
  }
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: base.dir,
      encoding: "utf8",
    }).trim();
  git("add", "-A");
  git("commit", "--quiet", "-m", "tinyos example");
  return { dir: base.dir, sha: git("rev-parse", "HEAD"), commit: base.commit };
}

/** A git repository laid out as Packer users keep theirs: packer/tinyos/ and kickstart/, no images/; `files` lists it. */
export function makePackerRepo(): { dir: string; sha: string; files: string[] } {
  const base = makeRepo();
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: base.dir,
      encoding: "utf8",
    }).trim();
  git("rm", "--quiet", "-r", "images");
  for (const sub of ["packer/tinyos", "kickstart"]) cpSync(join(ROOT, sub), join(base.dir, sub), { recursive: true });
  mkdirSync(join(base.dir, "iso"), { recursive: true });
  symlinkSync(ISO, join(base.dir, "iso/tinyos.iso"));
  cpSync(join(ROOT, "iso/SHA256SUMS"), join(base.dir, "iso/SHA256SUMS"));
  git("add", "-A");
  git("commit", "--quiet", "-m", "Packer layout");
  return { dir: base.dir, sha: git("rev-parse", "HEAD"), files: git("ls-files").split("\n") };
}
