// The plan a build runs: a loaded template with the real components' config types.
import type {
  FileProvisionerConfig,
  ProvisionerCommon,
  ProvisionerConfig,
  ShellLocalProvisionerConfig,
  ShellProvisionerConfig,
} from "../provisioners/options.js";
import type { PostProcessorConfig } from "../postprocessors/types.js";
import type { TestConfig } from "../checks/options.js";
import type { LoadedTemplate } from "../template/types.js";
import type { SourceConfig } from "./registry.js";

export type {
  FileProvisionerConfig,
  PostProcessorConfig,
  ProvisionerCommon,
  ProvisionerConfig,
  ShellLocalProvisionerConfig,
  ShellProvisionerConfig,
  SourceConfig,
  TestConfig,
};

/** A loaded, validated template: plain data the engine runs. */
export type BuildPlan = LoadedTemplate<SourceConfig, ProvisionerConfig, PostProcessorConfig, TestConfig>;
