import { join } from "node:path";
import { makeFloppy, makeSeedCd, matchCdFiles, type SeedMediaOptions } from "../../sources/seed-media.js";
import { renderRuntime } from "../../core/runtime-vars.js";
import { runtimeValues, type BuildStepContext, type BuildStep } from "../context.js";
import type { HttpServing, PreparedOutput, SeedCd, SeedFloppy, SshKeyMade } from "../values.js";

/** What a seed medium's content may name: {{ .SSHPublicKey }}, {{ .HTTPIP }}, {{ .HTTPPort }}. */
type SeedInput = Pick<PreparedOutput, "workDir"> & HttpServing & Partial<SshKeyMade>;

/** Makes a seed medium (CD or floppy) in the private work dir from files and rendered content; its path. */
async function makeSeedMedium(
  ctx: BuildStepContext,
  input: SeedInput,
  kind: "cd" | "floppy",
  make: (options: SeedMediaOptions) => Promise<string[]>,
): Promise<string> {
  const { plan } = ctx.build;
  const source = plan.source;
  const [files, table, label] =
    kind === "cd"
      ? [source.cd_files, source.cd_content, source.cd_label]
      : [source.floppy_files, source.floppy_content, source.floppy_label];
  // {{ .SSHPublicKey }}, {{ .HTTPIP }}, {{ .HTTPPort }}: a cloud-init seed usually needs the first.
  const values = runtimeValues(plan, input);
  const content = Object.fromEntries(
    Object.entries(table ?? {}).map(([path, text]) => [path, renderRuntime(text, values, `${kind}_content "${path}"`)]),
  );
  const dest = join(input.workDir, kind === "cd" ? "cd.iso" : "floppy.img");
  const placed = await make({
    files: matchCdFiles(files, plan.templateDir),
    content,
    ...(label ? { label } : {}),
    dest,
    workDir: input.workDir,
    signal: ctx.signal,
  });
  ctx.events.info(`${kind}${label ? ` "${label}"` : ""} with ${placed.join(", ") || "nothing"}`);
  return dest;
}

/** cd_files/cd_content (e.g. a cloud-init NoCloud seed), attached as an extra cdrom. */
export const createCd: BuildStep<SeedInput, SeedCd> = {
  name: "create-cd",
  title: "Creating CD...",
  run: async (ctx, input) => ({ seedCdPath: await makeSeedMedium(ctx, input, "cd", makeSeedCd) }),
};

/** floppy_files/floppy_content, attached as drive A. */
export const createFloppy: BuildStep<SeedInput, SeedFloppy> = {
  name: "create-floppy",
  title: "Creating floppy disk...",
  run: async (ctx, input) => ({ floppyPath: await makeSeedMedium(ctx, input, "floppy", makeFloppy) }),
};
