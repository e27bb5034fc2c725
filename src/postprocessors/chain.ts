// Chains of post-processors, with Packer's keep_input_artifact semantics (packer/build.go):
// - each chain starts from the builder's artifact and feeds each result to the next;
// - after post-processor i > 0 succeeds, its input is deleted unless kept (the user's
//   keep_input_artifact, else the post-processor's default; some force keeping);
// - the builder's artifact is deleted at the end unless the FIRST post-processor of some
//   chain kept it (or there are no chains).
// tsimg differs where Packer loses data: record files (checksum lists, manifests) are never
// deleted, files a later artifact still uses are never deleted, and nothing is deleted
// when a chain failed, so a failed upload can be retried without rebuilding.
import { rm } from "node:fs/promises";
import { CancelledError, TsimgError, asTsimgError } from "../core/errors.js";
import type { Artifact } from "./artifact.js";
import { checksumPostProcessor } from "./checksum.js";
import { compressPostProcessor } from "./compress.js";
import { manifestPostProcessor } from "./manifest.js";
import { notifyPostProcessor } from "./notify.js";
import { shellLocalPostProcessor } from "./shell-local.js";
import type { PostProcessor, PostProcessorConfig, PostProcessorContext } from "./types.js";
import { uploadPostProcessor } from "./upload.js";

/** Every post-processor, by type, each with its own config type. */
export const POST_PROCESSORS: {
  [T in PostProcessorConfig["type"]]: PostProcessor<Extract<PostProcessorConfig, { type: T }>>;
} = {
  checksum: checksumPostProcessor,
  compress: compressPostProcessor,
  manifest: manifestPostProcessor,
  "shell-local": shellLocalPostProcessor,
  upload: uploadPostProcessor,
  notify: notifyPostProcessor,
};

/** Whether a post-processor keeps its input, after the user's setting and the forced ones. */
export function keepsInput(
  pp: Pick<PostProcessor, "keepInputForced" | "keepInputByDefault">,
  config: PostProcessorConfig,
): boolean {
  if (pp.keepInputForced && pp.keepInputByDefault) return true;
  return config.keep_input_artifact ?? pp.keepInputByDefault;
}

export interface ChainResult {
  /** The last artifact of each chain, in chain order. */
  finals: Artifact[];
  /** Whether the builder's artifact was kept (Packer: some chain's first post-processor kept it). */
  keptBuilderArtifact: boolean;
}

/**
 * Runs each chain in order. A failing chain stops; the other chains still run, then the
 * first failure is thrown (`post-processor 2 (compress) failed: ...`). A cancellation
 * stops everything at once.
 */
export async function runPostProcessorChains(
  artifact: Artifact,
  chains: PostProcessorConfig[][],
  ctx: PostProcessorContext,
): Promise<ChainResult> {
  const finals: Artifact[] = [];
  const failures: TsimgError[] = [];
  let keepBuilder = chains.every((chain) => chain.length === 0);
  for (const [c, chain] of chains.entries()) {
    const where = chains.length > 1 ? `chain ${c + 1}, ` : "";
    try {
      const { final, keptFirstInput } = await runChain(artifact, chain, ctx, where);
      finals.push(final);
      keepBuilder ||= keptFirstInput;
    } catch (error) {
      if (error instanceof CancelledError || ctx.signal.aborted)
        throw error instanceof CancelledError ? error : new CancelledError();
      failures.push(asTsimgError(error));
    }
  }
  if (failures.length > 0) {
    const [first] = failures as [TsimgError, ...TsimgError[]];
    if (failures.length === 1) throw first;
    throw new TsimgError(
      `${failures.length} post-processor chains failed: ${failures.map((f) => f.message).join("; ")}`,
      { cause: first },
    );
  }
  if (!keepBuilder) {
    const stillUsed = new Set(finals.flatMap((f) => [...f.files, ...f.records]));
    await deleteFiles(
      artifact.files.filter((f) => !stillUsed.has(f)),
      ctx,
      "the builder's artifact (no chain keeps it: keep_input_artifact)",
    );
  }
  return { finals, keptBuilderArtifact: keepBuilder };
}

async function runChain(
  builder: Artifact,
  chain: PostProcessorConfig[],
  ctx: PostProcessorContext,
  where: string,
): Promise<{ final: Artifact; keptFirstInput: boolean }> {
  let prior = builder;
  let keptFirstInput = false;
  for (const [i, config] of chain.entries()) {
    // The table pairs each type with its post-processor; TypeScript cannot follow that pairing through an index, hence the widening.
    const pp = POST_PROCESSORS[config.type] as PostProcessor;
    if (ctx.signal.aborted) throw new CancelledError();
    ctx.events.info(`running post-processor: ${config.type}`);
    let next: Artifact;
    try {
      next = await pp.run(prior, config, ctx);
    } catch (error) {
      if (error instanceof CancelledError || ctx.signal.aborted)
        throw error instanceof CancelledError ? error : new CancelledError();
      const cause = asTsimgError(error);
      throw new TsimgError(`${where}post-processor ${i + 1} (${config.type}) failed: ${cause.message}`, {
        cause,
        details: cause.details,
      });
    }
    const keep = keepsInput(pp, config);
    if (i === 0) keptFirstInput = keep;
    else if (!keep) {
      const protectedFiles = new Set([...next.files, ...next.records, ...builder.files]);
      await deleteFiles(
        prior.files.filter((f) => !protectedFiles.has(f)),
        ctx,
        `the input of ${config.type} (keep_input_artifact = false)`,
      );
    }
    prior = next;
  }
  return { final: prior, keptFirstInput };
}

async function deleteFiles(files: string[], ctx: PostProcessorContext, why: string): Promise<void> {
  for (const file of files) {
    ctx.events.info(`deleting ${file}: ${why}`);
    await rm(file, { force: true });
  }
}
