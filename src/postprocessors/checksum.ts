// checksum: every requested hash of every file in one read, written as Packer's
// `<hex>\t<name>` lines, plus a SHA256SUMS that `sha256sum -c` checks.
import { stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { throwIfAborted } from "../core/abort.js";
import { deriveArtifact, type Artifact } from "./artifact.js";
import { commonValues, nameFrom, resolveOutput, writeFileAtomically } from "./files.js";
import { ProgressLog } from "../util/progress.js";
import { hashFile } from "../util/hash-file.js";
import type { ChecksumConfig, ChecksumType, PostProcessor, PostProcessorContext } from "./types.js";

export { hashFile };

async function run(input: Artifact, config: ChecksumConfig, ctx: PostProcessorContext): Promise<Artifact> {
  const types = [...new Set<string>([...config.checksum_types, ...(config.sha256sums ? ["sha256"] : [])])];
  const sums: Array<{ file: string; hex: Record<string, string> }> = [];
  for (const file of input.files) {
    throwIfAborted(ctx.signal);
    const progress = new ProgressLog(ctx, `checksum ${basename(file)}`, (await stat(file)).size);
    const hex = await hashFile(file, types, { signal: ctx.signal, progress });
    progress.finish();
    sums.push({ file, hex });
  }
  const records = [...(await writeChecksumFiles(sums, config, ctx))];
  if (config.sha256sums) {
    const path = resolveOutput("SHA256SUMS", {}, ctx, "SHA256SUMS");
    await writeFileAtomically(path, sums.map((s) => `${s.hex.sha256}  ${nameFrom(dirname(path), s.file)}\n`).join(""));
    records.push(path);
  }
  const main = sums[0]?.hex ?? {};
  ctx.events.info(`checksum: ${config.checksum_types.map((t) => `${t} ${main[t]}`).join(", ")}`);
  return deriveArtifact(input, "checksum", { checksums: { ...input.checksums, ...main }, records });
}

/** Groups lines by output file (several types may share one) and writes each file whole. */
async function writeChecksumFiles(
  sums: Array<{ file: string; hex: Record<string, string> }>,
  config: ChecksumConfig,
  ctx: PostProcessorContext,
): Promise<string[]> {
  const contents = new Map<string, string>();
  for (const type of config.checksum_types as ChecksumType[]) {
    const path = resolveOutput(config.output, { ...commonValues(ctx), ChecksumType: type }, ctx, "checksum output");
    // Packer writes the base name: the list sits beside the image it describes.
    const lines = sums.map((s) => `${s.hex[type]}\t${basename(s.file)}\n`).join("");
    contents.set(path, (contents.get(path) ?? "") + lines);
  }
  for (const [path, text] of contents) await writeFileAtomically(path, text);
  return [...contents.keys()];
}

/** The checksum post-processor. */
export const checksumPostProcessor: PostProcessor<ChecksumConfig> = {
  type: "checksum",
  keepInputByDefault: true,
  keepInputForced: true,
  run,
};
