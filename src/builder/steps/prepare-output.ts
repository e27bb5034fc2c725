import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { TsimgError } from "../../core/errors.js";
import { OUTPUT_MARKER } from "../../qemu/output-paths.js";
import type { BuildStep } from "../context.js";
import type { PreparedOutput } from "../values.js";

/**
 * Creates output_directory and a private work dir. An existing output_directory is refused,
 * and with --force replaced only when tsimg made it (its marker file is in it) or it is
 * empty. The cleanup of a failed build undoes exactly this: it removes the directories this
 * step created, or empties the empty directory it was given, and nothing else.
 */
export const prepareOutput: BuildStep<object, PreparedOutput> = {
  name: "prepare-output",
  title: "Creating output directory...",
  async run(ctx, _input, progress) {
    const { plan, options } = ctx.build;
    const dir = plan.source.output_directory;
    const shown = relative(process.cwd(), dir) || dir;
    let created: string | undefined;
    if (!existsSync(dir)) {
      created = (await mkdir(dir, { recursive: true })) ?? dir;
    } else {
      if (!options.force) throw new TsimgError(`output_directory ${shown} already exists; use --force to replace it`);
      const kind = await replaceable(dir);
      if (kind === "foreign") {
        throw new TsimgError(
          `--force: output_directory ${shown} was not made by tsimg (no ${OUTPUT_MARKER} in it) and is not empty; refusing to replace it`,
          {
            details: ["move it away, or set output_directory to a directory of its own"],
          },
        );
      }
      if (kind === "tsimg") {
        ctx.events.info(`--force: replacing ${shown}, the output of an earlier build`);
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir);
        created = dir;
      }
    }
    // From here on everything in `dir` is this build's: the cleanup may remove it.
    const output = (progress.output = { dir, ...(created ? { created } : {}) });
    await writeFile(
      join(dir, OUTPUT_MARKER),
      `made by tsimg for ${plan.image.name}; tsimg build --force may replace this directory\n`,
    );
    const workDir = (progress.workDir = await mkdtemp(join(tmpdir(), "tsimg-")));
    // The disk keeps a working name until compaction renames the finished image into place.
    return { output, workDir, diskPath: join(dir, `.${plan.source.vm_name}.building`) };
  },
  async cleanup(ctx, _input, done, outcome) {
    if (done.workDir) await rm(done.workDir, { recursive: true, force: true });
    // run() refused or failed before the directory was this build's: nothing of ours to undo.
    const output = done.output;
    if (outcome === "ok" || !output) return;
    if (ctx.build.options.keepOnError) {
      ctx.events.warn(`--on-error=abort: keeping ${output.dir} for inspection`);
      return;
    }
    if (output.created) {
      await rm(output.created, { recursive: true, force: true });
      return;
    }
    // An empty directory given with --force: it was empty, so all it holds now is ours.
    for (const entry of await readdir(output.dir)) await rm(join(output.dir, entry), { recursive: true, force: true });
  },
};

/** "tsimg": an earlier build's output; "empty": nothing in it; "foreign": anything else. */
async function replaceable(dir: string): Promise<"tsimg" | "empty" | "foreign"> {
  if (!(await lstat(dir)).isDirectory()) return "foreign";
  const entries = await readdir(dir);
  if (entries.length === 0) return "empty";
  return entries.includes(OUTPUT_MARKER) ? "tsimg" : "foreign";
}
