import { join } from "node:path";
import type { Step } from "../../engine/runner.js";
import { makeFloppy, makeSeedCd, matchCdFiles } from "../../sources/seed-media.js";
import { renderRuntime } from "../../template/runtime-vars.js";
import { runtimeValues, type QemuBuildState } from "../state.js";

/** Builds the cd_files/cd_content CD (e.g. a cloud-init NoCloud seed) in the private work dir. */
export const createCd: Step<QemuBuildState> = {
  name: "create-cd",
  title: "Creating CD...",
  async run(ctx, state) {
    const { cd_files, cd_content, cd_label } = state.plan.source;
    const values = runtimeValues(state);
    const content = Object.fromEntries(Object.entries(cd_content ?? {}).map(([path, text]) => [path, renderRuntime(text, values, `cd_content "${path}"`)]));
    const dest = join(state.workDir!, "cd.iso");
    const placed = await makeSeedCd({
      files: matchCdFiles(cd_files, state.plan.templateDir),
      content,
      ...(cd_label ? { label: cd_label } : {}),
      dest,
      workDir: state.workDir!,
      signal: ctx.signal,
    });
    state.seedCdPath = dest;
    ctx.events.info(`CD${cd_label ? ` "${cd_label}"` : ""} with ${placed.join(", ")}`);
  },
};

/** Builds the floppy_files/floppy_content floppy image in the private work dir. */
export const createFloppy: Step<QemuBuildState> = {
  name: "create-floppy",
  title: "Creating floppy disk...",
  async run(ctx, state) {
    const { floppy_files, floppy_content, floppy_label } = state.plan.source;
    const values = runtimeValues(state);
    const content = Object.fromEntries(Object.entries(floppy_content ?? {}).map(([path, text]) => [path, renderRuntime(text, values, `floppy_content "${path}"`)]));
    const dest = join(state.workDir!, "floppy.img");
    const placed = await makeFloppy({ files: matchCdFiles(floppy_files, state.plan.templateDir), content, label: floppy_label, dest, workDir: state.workDir!, signal: ctx.signal });
    state.floppyPath = dest;
    ctx.events.info(`floppy "${floppy_label}" with ${placed.join(", ") || "nothing"}`);
  },
};
