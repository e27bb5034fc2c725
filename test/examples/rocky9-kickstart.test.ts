// kickstart/rocky9.ks: pykickstart's validator (RHEL 9 syntax) accepts it, it installs from
// the ISO alone, and it does not skip packages the ISO lacks.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const KICKSTART = join(ROOT, "kickstart/rocky9.ks");
// pykickstart 3.74, kept beside the repo because PyPI is out of reach (needs python3-requests).
const KSVALIDATOR = resolve(ROOT, "../shared/tools/ksvalidator");

function ksvalidator(file: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(KSVALIDATOR, ["-v", "RHEL9", file], { encoding: "utf8", stdio: "pipe" }) };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

/** The kickstart's commands: lines outside %sections, without comments. */
function commands(text: string): string[] {
  const out: string[] = [];
  let inSection = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("%end")) inSection = false;
    else if (line.startsWith("%")) inSection = true;
    else if (!inSection && line && !line.startsWith("#")) out.push(line);
  }
  return out;
}

describe("kickstart/rocky9.ks", () => {
  const text = readFileSync(KICKSTART, "utf8");

  test("passes ksvalidator -v RHEL9", () => {
    expect(ksvalidator(KICKSTART)).toMatchObject({ code: 0 });
  });

  test("the validator is real: a kickstart with a mistake fails it", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-ks-"));
    try {
      const broken = join(dir, "broken.ks");
      writeFileSync(broken, text.replace("cdrom\n", "cdrom --no-such-option\n"));
      const result = ksvalidator(broken);
      expect(result.code).not.toBe(0);
      expect(result.out).toMatch(/line \d+ of the kickstart file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("installs from the ISO and names no network repository", () => {
    const names = commands(text).map((line) => line.split(/\s+/)[0]);
    expect(names).toContain("cdrom");
    for (const network of ["url", "repo", "liveimg", "ostreesetup", "nfs", "harddrive", "module"]) {
      expect(names).not.toContain(network);
    }
    expect(text).not.toMatch(/https?:\/\//);
  });

  test("a package the ISO lacks stops the install instead of being skipped", () => {
    expect(text).toMatch(/^%packages\s*$/m);
    expect(text).not.toContain("--ignoremissing");
  });
});
