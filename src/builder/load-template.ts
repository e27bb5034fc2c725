// loadTemplate: the generic loader (template/) with the real components (registry.ts).
import { ConfigErrors, SeveralBuildsError, type ConfigError } from "../core/errors.js";
import { readTemplate, type LoadOptions } from "../template/load.js";
import type { BuildPlan } from "./plan.js";
import { COMPONENTS } from "./registry.js";

export type { LoadOptions };

/** Loads and validates a template. Throws ConfigErrors listing every problem. */
export function loadTemplate(templatePath: string, options: LoadOptions = {}): BuildPlan {
  return readTemplate(templatePath, options, COMPONENTS);
}

/**
 * Loads a template as `packer build` runs it: a Packer template with several qemu builds
 * left after -only/-except gives one plan per build, in the template's order, each named
 * `<image>-<source>` so their logs and results tell them apart. Any other template gives
 * one plan. Throws ConfigErrors listing every problem of every build.
 */
export function loadTemplates(templatePath: string, options: LoadOptions = {}): BuildPlan[] {
  let several: SeveralBuildsError;
  try {
    return [loadTemplate(templatePath, options)];
  } catch (error) {
    const only = error instanceof ConfigErrors && error.errors.length === 1 ? error.errors[0] : undefined;
    if (!(only instanceof SeveralBuildsError)) throw error;
    several = only;
  }
  const plans: BuildPlan[] = [];
  const errors: ConfigError[] = [];
  // A warning about the template (a skipped non-qemu source, found while choosing) is told once.
  const warned = new Set<string>();
  const once = (warnings: ConfigError[]) =>
    warnings.filter((w) => {
      const key = `${w.location} ${w.message}`;
      if (warned.has(key)) return false;
      warned.add(key);
      return true;
    });
  for (const build of several.builds) {
    try {
      const plan = loadTemplate(templatePath, { ...options, only: [build.only] });
      const warnings = once([...(plans.length === 0 ? several.warnings : []), ...plan.warnings]);
      plans.push({ ...plan, warnings, image: { ...plan.image, name: `${plan.image.name}-${build.name}` } });
    } catch (error) {
      if (!(error instanceof ConfigErrors)) throw error;
      errors.push(...error.errors);
    }
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return plans;
}
