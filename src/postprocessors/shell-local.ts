// shell-local: runs scripts on this machine with the artifact's paths and data in the
// environment, streaming their output as events.
import { runLocalScripts } from "../util/run-local.js";
import type { Artifact } from "./artifact.js";
import type { PostProcessor, PostProcessorContext, ShellLocalConfig } from "./types.js";

/** The environment a shell-local script gets (on top of tsimg's own). */
export function artifactEnvironment(artifact: Artifact, ctx: PostProcessorContext): Record<string, string> {
  const env: Record<string, string> = {
    PACKER_BUILD_NAME: ctx.build.name,
    PACKER_BUILDER_TYPE: "qemu",
    PACKER_RUN_UUID: ctx.build.runUuid,
    TSIMG_BUILD_NAME: ctx.build.name,
    TSIMG_RUN_UUID: ctx.build.runUuid,
    TSIMG_OUTPUT_DIR: ctx.outputDir,
    TSIMG_ARTIFACT: artifact.files[0] ?? "",
    TSIMG_ARTIFACT_FILES: artifact.files.join("\n"),
    TSIMG_ARTIFACT_ID: artifact.id,
  };
  if (artifact.format !== undefined) env.TSIMG_ARTIFACT_FORMAT = artifact.format;
  if (artifact.size !== undefined) env.TSIMG_ARTIFACT_SIZE = String(artifact.size);
  if (artifact.location !== undefined) env.TSIMG_ARTIFACT_LOCATION = artifact.location;
  for (const [type, hex] of Object.entries(artifact.checksums)) env[`TSIMG_CHECKSUM_${envName(type)}`] = hex;
  for (const [key, value] of Object.entries(artifact.image)) {
    if (value === undefined || value === null) continue;
    env[`TSIMG_IMAGE_${envName(key)}`] = typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return env;
}

function envName(key: string): string {
  return key.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

async function run(input: Artifact, config: ShellLocalConfig, ctx: PostProcessorContext): Promise<Artifact> {
  await runLocalScripts(config, {
    env: artifactEnvironment(input, ctx),
    cwd: ctx.outputDir,
    signal: ctx.signal,
    events: ctx.events,
  });
  return input;
}

/** The shell-local post-processor. */
export const shellLocalPostProcessor: PostProcessor<ShellLocalConfig> = {
  type: "shell-local",
  keepInputByDefault: true,
  keepInputForced: false,
  run,
};
