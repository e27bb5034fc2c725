import { stat } from "node:fs/promises";
import type { Step } from "../../engine/runner.js";
import { builderArtifact } from "../../postprocessors/artifact.js";
import { runPostProcessorChains } from "../../postprocessors/chain.js";
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
    const file = state.artifactPath!;
    const disk = builderArtifact({ file, format: plan.source.format, size: (await stat(file)).size, image: plan.image });
    const inputs = await collectInputs(plan, {
      ...(state.isoSha256 === undefined ? {} : { isoSha256: state.isoSha256 }),
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
    });
    state.artifacts = [...(result.keptBuilderArtifact ? [disk] : []), ...result.finals];
  },
};
