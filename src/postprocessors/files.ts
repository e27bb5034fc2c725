// Files appear complete or not at all: everything is written as `<name>.partial` beside
// its final name and renamed when complete; on failure or cancel the partial is removed.
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, relative, resolve } from "node:path";
import { TsimgError } from "../core/errors.js";
import { renderRuntime } from "../core/runtime-vars.js";
import type { PostProcessorContext } from "./types.js";

/** The temporary name of `path` while it is being written. */
export function partialPath(path: string): string {
  return `${path}.partial`;
}

/** Runs `write(partial)`, then renames partial -> final; removes the partial if anything fails. */
export async function writeAtomically<T>(final: string, write: (partial: string) => Promise<T>): Promise<T> {
  const partial = partialPath(final);
  await mkdir(dirname(final), { recursive: true });
  try {
    const result = await write(partial);
    await rename(partial, final);
    return result;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** Writes `data` to `path` atomically. */
export async function writeFileAtomically(path: string, data: string | Buffer): Promise<void> {
  await writeAtomically(path, (partial) => writeFile(partial, data));
}

/**
 * Renders an `output` template and resolves it against the output directory. Inside it, the
 * build owns every file. Outside it, an existing file is never replaced (unless the writer
 * `merges` into it, as the manifest does), and a new one is recorded in `ctx.outsideFiles`
 * so that a failed build removes it again.
 */
export function resolveOutput(
  template: string,
  values: Record<string, string>,
  ctx: PostProcessorContext,
  where: string,
  options: { merges?: boolean } = {},
): string {
  const rendered = renderRuntime(template, values, where);
  const path = isAbsolute(rendered) ? rendered : resolve(ctx.outputDir, rendered);
  const inside = relative(ctx.outputDir, path);
  if (inside && !inside.startsWith("..") && !isAbsolute(inside)) return path;
  const exists = existsSync(path);
  if (exists && !options.merges) {
    throw new TsimgError(
      `${where} ${path} already exists outside output_directory; tsimg replaces files only inside the directory its build made: remove it, or choose another output`,
    );
  }
  if (!exists) ctx.outsideFiles?.push(path);
  return path;
}

/** The name a checksum list uses for `file`: relative to the list's directory. */
export function nameFrom(dir: string, file: string): string {
  const rel = relative(dir, file);
  return rel.startsWith("..") || isAbsolute(rel) ? file : rel || basename(file);
}

/** Placeholders every output template may use. */
export function commonValues(ctx: PostProcessorContext): Record<string, string> {
  return { BuildName: ctx.build.name, BuilderType: "qemu", RunUUID: ctx.build.runUuid };
}
