// What the loader asks of the components: their option tables, their checks and their
// secrets. The loader imports no component; the registry of the real ones is passed in
// (builder/registry.ts), which is also where other template formats will find them.
import type { Problem } from "../core/check-options.js";
import type { OptionTable } from "../core/options.js";

/** What a `[source]` check gets besides the table. */
export interface SourceContext {
  /** The template's directory: relative paths resolve against it. */
  baseDir: string;
  /** `[image] name`, or the template's file name: some defaults are made from it. */
  imageName: string;
  problems: Problem[];
}

/** `[source]`: the builder, made of several components' options. */
export interface SourceSchema<S> {
  /** Every `[source]` option, in the order the reference lists them. */
  options: OptionTable;
  /** Checks `[source]`: `resolved` after `${...}`, `written` as in the file (to tell what was given). */
  check(resolved: Record<string, unknown>, written: Record<string, unknown>, ctx: SourceContext): S;
  /** Values to mask in every output. */
  secrets(config: S): string[];
}

/** Tables chosen by their `type` key: `[[provisioner]]`, `[[post_processor]]`. */
export interface FamilySchema<C> {
  /** Option table of each type, in the order the reference lists them. */
  types: Record<string, OptionTable>;
  /** Markdown the reference puts before the family's sections. */
  heading?: string;
  /** Markdown the reference puts under a type's title, before its table. */
  intros?: Record<string, string>;
  /** Checks one table (a plain table): the config, or undefined when none can be made (problems added). */
  check(table: Record<string, unknown>, path: (string | number)[], baseDir: string, problems: Problem[]): C | undefined;
  /** Values to mask in every output. */
  secrets(configs: C[]): string[];
}

/** Tables of one kind, without a `type` key: `[[test]]`. */
export interface ListSchema<T> {
  options: OptionTable;
  /** Markdown the reference puts under the section's title. */
  intro?: string;
  /** Checks one table: the config, or undefined when none can be made (problems added). */
  check(table: Record<string, unknown>, path: (string | number)[], baseDir: string, problems: Problem[]): T | undefined;
}

/** The components a template may use. */
export interface ComponentRegistry<S, P, Q, T = never> {
  source: SourceSchema<S>;
  provisioners: FamilySchema<P>;
  postProcessors: FamilySchema<Q>;
  /** `[[test]]`: checks of the finished image; a registry without them rejects the table. */
  tests?: ListSchema<T>;
}
