// Post-processors: Artifact -> Artifact (checksum, compress, manifest, shell-local, upload, notify).
export { builderArtifact, deriveArtifact, mainFile, type Artifact, type Lineage } from "./artifact.js";
export { POST_PROCESSORS, keepsInput, runPostProcessorChains, type ChainResult } from "./chain.js";
export { hashFile } from "./checksum.js";
export { manifestEntry, sortKeys, type ManifestEntry, type ManifestFile } from "./manifest.js";
export { SIGNATURE_HEADER, signBody } from "./notify.js";
export { artifactEnvironment } from "./shell-local.js";
export * from "./schema.js";
export type * from "./types.js";
export { checkPostProcessor, postProcessorSecrets } from "./validate.js";
