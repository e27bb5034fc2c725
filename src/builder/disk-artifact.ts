// The builder's artifact: what a build leaves when no post-processor replaced it, and what
// the post-processor chains start from.
import { builderArtifact, type Artifact } from "../postprocessors/artifact.js";
import type { BuildPlan } from "./plan.js";

/** create-disk: the base image of a disk_image build (lineage for the manifest). */
export interface BaseImage {
  path: string;
  format: string;
  sha256?: string;
}

/** The finished disks (compact) and, for a disk_image build, the base they came from (create-disk). */
export interface FinishedDisks {
  artifactPath: string;
  additionalArtifacts?: string[] | undefined;
  baseImage?: BaseImage | undefined;
}

/** The builder's artifact: the disk (and additional disks), with the base image's lineage for a disk_image build. */
export function diskArtifact(plan: BuildPlan, disks: FinishedDisks, size?: number): Artifact {
  const { baseImage } = disks;
  const lineage = baseImage && {
    base_image: plan.source.iso_url,
    ...(baseImage.sha256 ? { base_checksum: `sha256:${baseImage.sha256}` } : {}),
    base_format: baseImage.format,
    // A thin overlay needs its base at this path to be read at all.
    ...(plan.source.use_backing_file ? { backing_file: baseImage.path } : {}),
  };
  return builderArtifact({
    file: disks.artifactPath,
    moreFiles: disks.additionalArtifacts ?? [],
    format: plan.source.format,
    ...(size === undefined ? {} : { size }),
    image: plan.image,
    ...(lineage ? { lineage } : {}),
  });
}
