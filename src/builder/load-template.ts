// loadTemplate: the generic loader (template/) with the real components (registry.ts).
import { readTemplate, type LoadOptions } from "../template/load.js";
import type { BuildPlan } from "./plan.js";
import { COMPONENTS } from "./registry.js";

export type { LoadOptions };

/** Loads and validates a template. Throws ConfigErrors listing every problem. */
export function loadTemplate(templatePath: string, options: LoadOptions = {}): BuildPlan {
  return readTemplate(templatePath, options, COMPONENTS);
}
