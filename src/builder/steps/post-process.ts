import { rm, stat } from "node:fs/promises";
import type { Step } from "../../core/runner.js";
import { runPostProcessorChains } from "../../postprocessors/chain.js";
import { diskArtifact } from "../disk-artifact.js";
import { collectInputs } from "../inputs.js";
import type { QemuBuildState } from "../state.js";

/**
 * Runs the `[[post_processor]]` chains on the finished disk. A failure fails the build
 * (and, as any failed step, removes output_directory unless --on-error=abort); every file
 * a post-processor writes appears under its final name only when complete.
 */
export const postProcess: Step<QemuBuildState> = {
  name: "post-process",
  title: "Running post-processors...",
  async run(ctx, state) {
    const { plan } = state;
    const disk = diskArtifact(plan, { artifactPath: state.artifactPath!, additionalArtifacts: state.additionalArtifacts, baseImage: state.baseImage }, (await stat(state.artifactPath!)).size);
    const inputs = await collectInputs(plan, {
      ...(state.isoSha256 === undefined ? {} : { isoSha256: state.isoSha256 }),
      ...(state.isoPath === undefined ? {} : { isoPath: state.isoPath }),
      signal: ctx.signal,
      warn: (message) => ctx.events.warn(message),
    });
    const result = await runPostProcessorChains(disk, plan.postProcessors, {
      signal: ctx.signal,
      events: ctx.events,
      outputDir: plan.source.output_directory,
      build: { name: plan.image.name, runUuid: state.options.runUuid, templatePath: plan.templatePath, startTime: state.options.startTime },
      inputs,
      force: state.options.force,
      outsideFiles: (state.outsideFiles = []),
    });
    state.artifacts = [...(result.keptBuilderArtifact ? [disk] : []), ...result.finals];
  },
  // output_directory goes with prepare-output's cleanup; what a chain wrote outside it goes here.
  async cleanup(ctx, state, outcome) {
    if (outcome === "ok" || state.options.keepOnError) return;
    for (const file of state.outsideFiles ?? []) {
      ctx.events.info(`removing ${file}: written outside output_directory by this failed build`);
      await rm(file, { force: true });
    }
  },
};
