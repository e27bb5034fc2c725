// The CD of cd_files + cd_content (a cloud-init NoCloud seed is one labelled "cidata"),
// made with xorriso in a private staging directory and attached as an extra cdrom.
import { cpSync, mkdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import { execa } from "execa";
import { globSync } from "tinyglobby";
import { TsimgError } from "../errors.js";

export interface CdEntry {
  /** Absolute path on the host. */
  path: string;
  /** A directory written with a trailing "/": its contents go to the CD's root. */
  contentsOnly: boolean;
}

/** Expands cd_files patterns (relative to the template; globs allowed) in order, without duplicates. */
export function matchCdFiles(patterns: string[], baseDir: string): CdEntry[] {
  const out: CdEntry[] = [];
  for (const pattern of patterns) {
    const contentsOnly = pattern.endsWith("/");
    const trimmed = contentsOnly ? pattern.replace(/\/+$/, "") : pattern;
    const matches = globSync([trimmed], { cwd: baseDir, absolute: true, onlyFiles: false, dot: true, expandDirectories: false }).sort();
    for (const path of matches.map((m) => normalize(m.replace(/\/+$/, "")))) {
      if (!out.some((e) => e.path === path)) out.push({ path, contentsOnly });
    }
  }
  return out;
}

export interface SeedCdOptions {
  files: CdEntry[];
  /** CD path -> content, already rendered. */
  content: Record<string, string>;
  label?: string;
  /** The ISO to write. */
  dest: string;
  /** A private directory for staging. */
  workDir: string;
  signal?: AbortSignal;
}

/** Writes the CD image and returns the paths it holds (for the log). */
export async function makeSeedCd(options: SeedCdOptions): Promise<string[]> {
  const stage = await mkdtemp(join(options.workDir, "cd-"));
  try {
    const placed: string[] = [];
    for (const entry of options.files) {
      if (statSync(entry.path).isDirectory() && entry.contentsOnly) {
        cpSync(entry.path, stage, { recursive: true, dereference: true });
        placed.push(`${basename(entry.path)}/*`);
      } else {
        cpSync(entry.path, join(stage, basename(entry.path)), { recursive: true, dereference: true });
        placed.push(basename(entry.path));
      }
    }
    for (const [cdPath, text] of Object.entries(options.content)) {
      const relative = normalize(cdPath.replace(/^\/+/, ""));
      if (relative.startsWith("..") || isAbsolute(relative) || relative === ".") throw new TsimgError(`cd_content: "${cdPath}" is not a path inside the CD`);
      mkdirSync(dirname(join(stage, relative)), { recursive: true });
      await writeFile(join(stage, relative), text);
      placed.push(relative);
    }
    await mkdir(dirname(options.dest), { recursive: true });
    const args = ["-as", "mkisofs", "-quiet", "-o", options.dest, "-J", "-joliet-long", "-r", ...(options.label ? ["-V", options.label] : []), stage];
    const result = await execa("xorriso", args, { reject: false, stdin: "ignore", ...(options.signal ? { cancelSignal: options.signal } : {}) });
    if (result.failed) {
      const said = String(result.stderr || result.message).trim();
      throw new TsimgError(
        (result as { code?: string }).code === "ENOENT" ? "cd_files/cd_content need xorriso: apt-get install xorriso" : `xorriso could not make the CD: ${said}`,
      );
    }
    return placed;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
