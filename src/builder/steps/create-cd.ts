import { join } from "node:path";
import type { Step } from "../../core/runner.js";
import { makeFloppy, makeSeedCd, matchCdFiles, type SeedMediaOptions } from "../../sources/seed-media.js";
import { renderRuntime } from "../../core/runtime-vars.js";
import { runtimeValues, type QemuBuildState } from "../state.js";

/** A step that makes a seed medium (CD or floppy) in the private work dir from files and rendered content. */
function seedMediaStep(kind: "cd" | "floppy", make: (options: SeedMediaOptions) => Promise<string[]>): Step<QemuBuildState> {
  return {
    name: `create-${kind}`,
    title: kind === "cd" ? "Creating CD..." : "Creating floppy disk...",
    async run(ctx, state) {
      const source = state.plan.source;
      const [files, table, label] = kind === "cd" ? [source.cd_files, source.cd_content, source.cd_label] : [source.floppy_files, source.floppy_content, source.floppy_label];
      // {{ .SSHPublicKey }}, {{ .HTTPIP }}, {{ .HTTPPort }}: a cloud-init seed usually needs the first.
      const values = runtimeValues(state);
      const content = Object.fromEntries(Object.entries(table ?? {}).map(([path, text]) => [path, renderRuntime(text, values, `${kind}_content "${path}"`)]));
      const dest = join(state.workDir!, kind === "cd" ? "cd.iso" : "floppy.img");
      const placed = await make({ files: matchCdFiles(files, state.plan.templateDir), content, ...(label ? { label } : {}), dest, workDir: state.workDir!, signal: ctx.signal });
      if (kind === "cd") state.seedCdPath = dest;
      else state.floppyPath = dest;
      ctx.events.info(`${kind}${label ? ` "${label}"` : ""} with ${placed.join(", ") || "nothing"}`);
    },
  };
}

/** cd_files/cd_content (e.g. a cloud-init NoCloud seed), attached as an extra cdrom. */
export const createCd = seedMediaStep("cd", makeSeedCd);

/** floppy_files/floppy_content, attached as drive A. */
export const createFloppy = seedMediaStep("floppy", makeFloppy);
