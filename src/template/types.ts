// What the loader makes of a template, whatever components it holds: plain data.
import type { ImageMeta } from "../core/image.js";
import type { ConfigError } from "../core/errors.js";

export type { ImageMeta };

/**
 * A loaded template: everything a build needs, with secrets listed for masking. S, P and Q
 * are the configs of `[source]`, a provisioner and a post-processor (see ComponentRegistry).
 */
export interface LoadedTemplate<S, P, Q, T = never> {
  /** Absolute path of the template file. */
  templatePath: string;
  templateDir: string;
  image: ImageMeta;
  source: S;
  provisioners: P[];
  /**
   * Post-processor chains, in template order: each `[[post_processor]]` is a chain of one,
   * except that entries sharing a `chain = "name"` form one chain, in the order written.
   */
  postProcessors: Q[][];
  /** `[[test]]` tables, in template order (empty when the registry has no tests). */
  tests: T[];
  /** Resolved variable values. */
  variables: Record<string, { value: string; sensitive: boolean }>;
  /** Values to mask in every output (sensitive variables, and each component's secrets). */
  secrets: string[];
  /** Inputs that do not exist yet (the ISO): `validate` warns, `build` refuses to start. */
  missingInputs: ConfigError[];
  /** Worth telling, not stopping for (a Packer template's skipped amazon-ebs source): every command prints them. */
  warnings: ConfigError[];
}
