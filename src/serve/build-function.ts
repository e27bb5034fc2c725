// The contract between serve and whatever runs a build (the isolated worker process by
// default, a stand-in in tests): what a build function is given and what it returns.
import type { BuildEvent } from "../index.js";
import type { BuildUser } from "./config.js";
import type { ArtifactInfo } from "./store.js";

/** Where and as whom a build runs: its user (build_user), the variables passed to it (build_env), the shared ISO cache. */
export interface BuildSandbox {
  user?: BuildUser;
  env: Record<string, string>;
  cacheDir: string;
}

/** What a build function is given. */
export interface BuildInput {
  /** Absolute path of images/<image>.toml inside the work dir. */
  templatePath: string;
  workDir: string;
  signal: AbortSignal;
  /** Receives the build's events (already masked by the library). */
  onEvent: (event: BuildEvent) => void;
  /** Registers more values to mask in everything serve writes (the plan's secrets). */
  addSecrets: (secrets: readonly string[]) => void;
  /** Tells the dashboard how to take a PNG of the VM's console while the build runs (rejects when no VM runs). */
  setScreenshotSource: (take: () => Promise<Buffer>) => void;
  /** Where and as whom the build runs. */
  sandbox: BuildSandbox;
}

/** What a build function returns; it never throws for a failed build. */
export interface BuildOutput {
  ok: boolean;
  cancelled: boolean;
  error?: string;
  artifacts: ArtifactInfo[];
  /** A PNG of the console the build saved when it failed while its VM ran. */
  failureScreenshot?: string;
  /** The image's CycloneDX SBOM (JSON text), when the build wrote one: what the result note compares. */
  sbom?: string;
}

/** The largest SBOM serve takes from a build (a bigger one is dropped: the note then has no "what changes"). */
export const MAX_SBOM = 16 * 1024 * 1024;

/** Runs one template's build. The default is the library's loadTemplate + build in an isolated process. */
export type BuildFunction = (input: BuildInput) => Promise<BuildOutput>;
