// The post-processor interface and what every one of them gets: Artifact in, Artifact out.
import type { EventBus } from "../engine/event-bus.js";
import type { LocalScriptsConfig } from "../util/run-local.js";
import type { Artifact } from "./artifact.js";
import type { CHECKSUM_TYPES, COMPRESS_FORMATS, PostProcessorType } from "./schema.js";

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

interface CommonConfig {
  /** Unset: the post-processor's own default. */
  keep_input_artifact?: boolean;
}

export type ChecksumType = (typeof CHECKSUM_TYPES)[number];
export type CompressFormat = (typeof COMPRESS_FORMATS)[number];

export interface ChecksumConfig extends CommonConfig {
  type: "checksum";
  checksum_types: ChecksumType[];
  output: string;
  sha256sums: boolean;
}

export interface CompressConfig extends CommonConfig {
  type: "compress";
  format?: CompressFormat;
  compression_level?: number;
  output?: string;
}

export interface ManifestConfig extends CommonConfig {
  type: "manifest";
  output: string;
  strip_path: boolean;
  strip_time: boolean;
  custom_data?: Record<string, string>;
}

export interface ShellLocalConfig extends CommonConfig, LocalScriptsConfig {
  type: "shell-local";
}

export interface UploadConfig extends CommonConfig {
  type: "upload";
  target: "http" | "s3";
  /** http: where each file goes (required for http). */
  url?: string;
  headers?: Record<string, string>;
  username?: string;
  password?: string;
  token?: string;
  /** s3: the bucket (required for s3). */
  bucket?: string;
  /** s3: the object key template. */
  key?: string;
  /** s3: the store's URL; unset = AWS itself. */
  endpoint?: string;
  region?: string;
  /** s3: unset = true with an endpoint, false without. */
  force_path_style?: boolean;
  access_key?: string;
  secret_key?: string;
  session_token?: string;
  /** s3: MiB (a "size" option). */
  part_size?: number;
  queue_size?: number;
  retries: number;
  /** ms */
  retry_delay: number;
  /** ms */
  timeout: number;
}

export interface NotifyConfig extends CommonConfig {
  type: "notify";
  url: string;
  secret?: string;
  headers?: Record<string, string>;
  retries: number;
  retry_delay: number;
  timeout: number;
}

/** One `[[post_processor]]` entry after validation (defaults filled, durations in ms). */
export type PostProcessorConfig = ChecksumConfig | CompressConfig | ManifestConfig | ShellLocalConfig | UploadConfig | NotifyConfig;

export type ConfigOf<T extends PostProcessorType> = Extract<PostProcessorConfig, { type: T }>;
