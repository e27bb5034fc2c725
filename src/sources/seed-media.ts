// Seed media: the CD of cd_files + cd_content (a cloud-init NoCloud seed is one labelled
// "cidata"), made with xorriso, and the floppy of floppy_files + floppy_content, made with
// mkfs.fat and mcopy; both from a private staging directory.
import { cpSync, mkdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import { globSync } from "tinyglobby";
import { TsimgError } from "../core/errors.js";
import { runProgram } from "../util/run-program.js";

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
    const matches = globSync([trimmed], {
      cwd: baseDir,
      absolute: true,
      onlyFiles: false,
      dot: true,
      expandDirectories: false,
    }).sort();
    for (const path of matches.map((m) => normalize(m.replace(/\/+$/, "")))) {
      if (!out.some((e) => e.path === path)) out.push({ path, contentsOnly });
    }
  }
  return out;
}

export interface SeedMediaOptions {
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
export async function makeSeedCd(options: SeedMediaOptions): Promise<string[]> {
  return withStagedFiles(options, async (stage) => {
    const args = [
      "-as",
      "mkisofs",
      "-quiet",
      "-o",
      options.dest,
      "-J",
      "-joliet-long",
      "-r",
      ...(options.label ? ["-V", options.label] : []),
      stage,
    ];
    await runTool(
      "xorriso",
      args,
      "cd_files/cd_content need xorriso: apt-get install xorriso",
      "xorriso could not make the CD",
      options.signal,
    );
  });
}

/** Writes a 1.44 MB FAT floppy image of floppy_files + floppy_content (mkfs.fat and mcopy). */
export async function makeFloppy(options: SeedMediaOptions): Promise<string[]> {
  return withStagedFiles(options, async (stage) => {
    const missing = "floppy_files/floppy_content need dosfstools and mtools: apt-get install dosfstools mtools";
    await runTool(
      "mkfs.fat",
      ["-C", options.dest, "1440", ...(options.label ? ["-n", options.label.toUpperCase().slice(0, 11)] : [])],
      missing,
      "mkfs.fat could not make the floppy",
      options.signal,
    );
    const entries = await readdir(stage);
    if (entries.length === 0) return;
    await runTool(
      "mcopy",
      ["-s", "-Q", "-i", options.dest, ...entries.map((e) => join(stage, e)), "::/"],
      missing,
      "mcopy could not fill the floppy (1.44 MB at most)",
      options.signal,
    );
  });
}

/** Copies files and content into a private staging directory, runs `make` on it, and returns what was placed. */
async function withStagedFiles(options: SeedMediaOptions, make: (stage: string) => Promise<void>): Promise<string[]> {
  const stage = await mkdtemp(join(options.workDir, "stage-"));
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
    for (const [mediaPath, text] of Object.entries(options.content)) {
      const relative = normalize(mediaPath.replace(/^\/+/, ""));
      if (relative.startsWith("..") || isAbsolute(relative) || relative === ".")
        throw new TsimgError(`"${mediaPath}" is not a path inside the medium`);
      mkdirSync(dirname(join(stage, relative)), { recursive: true });
      await writeFile(join(stage, relative), text);
      placed.push(relative);
    }
    await mkdir(dirname(options.dest), { recursive: true });
    await make(stage);
    return placed;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function runTool(
  program: string,
  args: string[],
  missing: string,
  failed: string,
  signal?: AbortSignal,
): Promise<void> {
  const result = await runProgram(program, args, signal ? { signal } : {});
  if (result.ok) return;
  if (result.errorCode === "ENOENT") throw new TsimgError(missing);
  throw new TsimgError(`${failed}: ${result.stderr.trim() || result.problem}`);
}
