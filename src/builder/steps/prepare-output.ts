import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { TsimgError } from "../../errors.js";
import type { Step } from "../../engine/runner.js";
import type { QemuBuildState } from "../state.js";

/** Creates output_directory (refusing an existing one unless --force) and a private work dir. */
export const prepareOutput: Step<QemuBuildState> = {
  name: "prepare-output",
  title: "Creating output directory...",
  async run(ctx, state) {
    const dir = state.plan.source.output_directory;
    if (existsSync(dir)) {
      if (!state.options.force) {
        throw new TsimgError(`output_directory ${relative(process.cwd(), dir) || dir} already exists; use --force to replace it`);
      }
      ctx.events.info(`--force: removing the existing ${dir}`);
      await rm(dir, { recursive: true, force: true });
    }
    await mkdir(dir, { recursive: true });
    state.workDir = await mkdtemp(join(tmpdir(), "tsimg-"));
    // The disk keeps a working name until compaction renames the finished image into place.
    state.diskPath = join(dir, `.${state.plan.source.vm_name}.building`);
  },
  async cleanup(ctx, state, outcome) {
    if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
    if (outcome === "ok") return;
    if (state.options.keepOnError) {
      ctx.events.warn(`--on-error=abort: keeping ${state.plan.source.output_directory} for inspection`);
      return;
    }
    await rm(state.plan.source.output_directory, { recursive: true, force: true });
  },
};
