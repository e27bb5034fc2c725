import { rm, stat } from "node:fs/promises";
import { runPostProcessorChains } from "../../postprocessors/chain.js";
import { renderBuildValues } from "../../core/runtime-vars.js";
import { buildValues, type BuildStep } from "../context.js";
import { diskArtifact } from "../disk-artifact.js";
import { collectInputs } from "../inputs.js";
import type {
  CompactedDisks,
  CreatedDisks,
  FetchedIso,
  HttpServing,
  InventoryCollected,
  LayersPlanned,
  PostProcessed,
  SbomWritten,
  SshKeyMade,
  VmStarted,
} from "../values.js";

/**
 * Runs the `[[post_processor]]` chains on the finished disk. A failure fails the build
 * (and, as any failed step, removes output_directory unless --on-error=abort); every file
 * a post-processor writes appears under its final name only when complete.
 */
type PostProcessInput = CompactedDisks &
  Pick<CreatedDisks, "baseImage"> &
  FetchedIso &
  Partial<InventoryCollected & SbomWritten & LayersPlanned & Pick<VmStarted, "sshHostPort"> & HttpServing & SshKeyMade>;

export const postProcess: BuildStep<PostProcessInput, PostProcessed> = {
  name: "post-process",
  title: "Running post-processors...",
  async run(ctx, input, progress) {
    const { plan, options } = ctx.build;
    const disk = diskArtifact(plan, input, (await stat(input.artifactPath)).size);
    const inputs = await collectInputs(plan, {
      ...(input.isoSha256 === undefined ? {} : { isoSha256: input.isoSha256 }),
      isoPath: input.isoPath,
      signal: ctx.signal,
      warn: (message) => ctx.events.warn(message),
    });
    // Filled in as the chains write, so a failed chain's cleanup finds what it wrote.
    const outsideFiles: string[] = [];
    progress.outsideFiles = outsideFiles;
    // {{ build `Host` }} and the like, as they were while the VM ran.
    const chains = renderBuildValues(plan.postProcessors, buildValues(plan, options.runUuid, input), "post-processor");
    const result = await runPostProcessorChains(disk, chains, {
      signal: ctx.signal,
      events: ctx.events,
      outputDir: plan.source.output_directory,
      build: {
        name: plan.image.name,
        runUuid: options.runUuid,
        templatePath: plan.templatePath,
        startTime: options.startTime,
      },
      inputs,
      ...(input.inventory
        ? {
            contents: {
              inventory: { ...input.inventory },
              ...(input.sbom ? { sbom: { file: input.sbom.path, sha256: input.sbom.sha256 } } : {}),
            },
          }
        : {}),
      ...(input.layers
        ? { layers: input.layers.report.map(({ index, title, key, reused }) => ({ index, title, key, reused })) }
        : {}),
      force: options.force,
      outsideFiles,
    });
    return { outsideFiles, artifacts: [...(result.keptBuilderArtifact ? [disk] : []), ...result.finals] };
  },
  // output_directory goes with prepare-output's cleanup; what a chain wrote outside it goes here.
  async cleanup(ctx, _input, done, outcome) {
    if (outcome === "ok" || ctx.build.options.keepOnError) return;
    for (const file of done.outsideFiles ?? []) {
      ctx.events.info(`removing ${file}: written outside output_directory by this failed build`);
      await rm(file, { force: true });
    }
  },
};
