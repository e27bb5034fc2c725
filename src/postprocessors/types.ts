// The post-processor interface and what every one of them gets: Artifact in, Artifact out.
import type { EventBus } from "../core/event-bus.js";
import type { ConfigOf } from "../core/options.js";
import type { Artifact } from "./artifact.js";
import type {
  CHECKSUM_OPTIONS,
  CHECKSUM_TYPES,
  COMPRESS_FORMATS,
  COMPRESS_OPTIONS,
  MANIFEST_OPTIONS,
  NOTIFY_OPTIONS,
  SHELL_LOCAL_OPTIONS,
  UPLOAD_OPTIONS,
} from "./schema.js";

/** The build a chain runs for. */
export interface BuildInfo {
  /** The build's name (the image name); Packer's BuildName. */
  name: string;
  /** Packer's PACKER_RUN_UUID: one per `tsimg build` run, shared by its parallel builds. */
  runUuid: string;
  /** Absolute path of the template. */
  templatePath?: string;
  /** When the build started, ms since the epoch. */
  startTime: number;
}

/** What a post-processor gets besides its config and input. */
export interface PostProcessorContext {
  signal: AbortSignal;
  events: EventBus;
  /** Relative `output` paths resolve against this (the build's output_directory). */
  outputDir: string;
  build: BuildInfo;
  /**
   * What went into the image (ISO checksum, sha256 of kickstart, scripts, template, git
   * commit, tool versions), computed by the caller; written to the manifest with sorted keys.
   */
  inputs?: Record<string, unknown>;
  /** What the image holds (the builder's inventory) and its SBOM file: the manifest records both. */
  contents?: { inventory: Record<string, unknown>; sbom?: { file: string; sha256: string } };
  /** The build's layers (layer cache), for the manifest. */
  layers?: Array<{ index: number; title: string; key: string; reused: boolean }>;
  /** `--force`: the manifest drops entries of earlier runs, as Packer's -force does. */
  force?: boolean;
  /** Files a post-processor created outside outputDir (added by resolveOutput): a failed build removes them. */
  outsideFiles?: string[];
  /** How often long operations log progress; default 5 s. */
  progressIntervalMs?: number;
}

/** One post-processor. `run` throws on failure and must leave no finished-looking file behind. */
export interface PostProcessor<C extends PostProcessorConfig = PostProcessorConfig> {
  type: C["type"];
  /** Keep the input when the user did not say (Packer's defaultKeep)... */
  keepInputByDefault: boolean;
  /** ...and whether the user may not override it (Packer's forceOverride). */
  keepInputForced: boolean;
  run(input: Artifact, config: C, ctx: PostProcessorContext): Promise<Artifact>;
}

export type ChecksumType = (typeof CHECKSUM_TYPES)[number];
export type CompressFormat = (typeof COMPRESS_FORMATS)[number];

// Each `[[post_processor]]` entry after validation (defaults filled, sizes in MiB, durations
// in ms), derived from its option table. `keep_input_artifact` unset: the post-processor's own default.
export type ChecksumConfig = ConfigOf<typeof CHECKSUM_OPTIONS, { type: "checksum" }>;
export type CompressConfig = ConfigOf<typeof COMPRESS_OPTIONS, { type: "compress" }>;
export type ManifestConfig = ConfigOf<typeof MANIFEST_OPTIONS, { type: "manifest" }>;
export type ShellLocalConfig = ConfigOf<typeof SHELL_LOCAL_OPTIONS, { type: "shell-local" }>;
export type UploadConfig = ConfigOf<typeof UPLOAD_OPTIONS, { type: "upload" }>;
export type NotifyConfig = ConfigOf<typeof NOTIFY_OPTIONS, { type: "notify" }>;

/** One `[[post_processor]]` entry after validation. */
export type PostProcessorConfig =
  ChecksumConfig | CompressConfig | ManifestConfig | ShellLocalConfig | UploadConfig | NotifyConfig;
