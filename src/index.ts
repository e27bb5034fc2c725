// tsimg's library API: load a template, build it, listen to its events.
export { loadTemplate, loadTemplates, type LoadOptions } from "./builder/load-template.js";
export { importTemplate, type ImportResult } from "./builder/import-template.js";
export { build, startBuild, type BuildOptions, type BuildResult, type RunningBuild } from "./build/build.js";
export { previewQemuCommand, type QemuCommandPreview } from "./builder/inspect.js";
export { layerCacheDirFromEnvironment } from "./builder/cache-dir.js";
export { LayerStore } from "./cache/store.js";
export { evict as pruneLayers, listLayers, type CacheListing, type LayerInfo } from "./cache/evict.js";
export type { BuildEvent, BuildEventType, EventListener, LogLevel } from "./core/events.js";
export type {
  BuildPlan,
  SourceConfig,
  ProvisionerConfig,
  ShellProvisionerConfig,
  FileProvisionerConfig,
} from "./builder/plan.js";
export type { ImageMeta } from "./core/image.js";
export { Masker } from "./core/masker.js";
export { maskFields as maskEvent } from "./core/event-bus.js";
export { formatDuration } from "./core/units.js";
export { formatCommandLine } from "./qemu/argv.js";
export {
  TsimgError,
  ConfigError,
  ConfigErrors,
  SeveralBuildsError,
  QemuError,
  CancelledError,
  TimeoutError,
  NoVmRunningError,
  type TemplateBuild,
} from "./core/errors.js";
export type { Artifact, Lineage } from "./postprocessors/artifact.js";
export type { PostProcessorConfig } from "./postprocessors/types.js";
export {
  diffImages,
  compareSnapshots,
  countDifferences,
  fromJson as snapshotFromJson,
  renderDiffLines,
  renderDiffMarkdown,
  renderDiffText,
  type ImageDiff,
  type Snapshot,
} from "./diff/index.js";
