// What every template format hands the loader: the TOML-shaped document that TOML.parse gives
// for a .toml file ([image], [variables], [source], [[provisioner]], [[post_processor]]),
// where its keys are in the files, and how relative paths resolve. The validation in load.ts
// (the components' checks and their messages) then runs the same way for every format.
import type { ConfigError } from "../core/errors.js";
import type { ResolvedVariable } from "./variables.js";

/** Where a key is: file, and line and column when known. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export type KeyPath = (string | number)[];

export interface TemplateDocument {
  /** The TOML-shaped table: image, variables, source, provisioner, post_processor. */
  raw: Record<string, unknown>;
  /** Where a key path of `raw` is written, or its closest enclosing key; undefined when unknown. */
  locate(path: KeyPath): SourceLocation | undefined;
  /** The file named in errors that have no key (shown relative to the working directory). */
  shown: string;
  /** The template file (a folder's main file): hashed into the build's inputs. */
  templatePath: string;
  /**
   * The folder the build resolves the rest of its relative paths against (iso_checksum's
   * file:, cd_files) and runs shell-local in: the template's (TOML), the working directory (Packer).
   */
  templateDir: string;
  /** Relative paths in the template resolve against this: the template's folder (TOML), the working directory (Packer). */
  baseDir: string;
  /** The image's name when `[image] name` is not given. */
  defaultName: string;
  /**
   * Set by front-ends that evaluate expressions and variables themselves (Packer HCL2 and
   * JSON): the loader then runs no `${...}` pass over `raw` and takes these values.
   */
  evaluated?: { variables: Map<string, ResolvedVariable> };
  /** Things the user should know that do not stop the build (a skipped amazon-ebs source). */
  warnings: ConfigError[];
  /** What `tsimg import` needs to write the template as TOML: set by the Packer front-ends. */
  origin?: TemplateOrigin;
}

/** A Packer template's declarations, comments and files read, for `tsimg import`. */
export interface TemplateOrigin {
  /** Declared variables, with their defaults as the template gives them (not -var's values). */
  variables: {
    name: string;
    type: string;
    default?: unknown;
    sensitive: boolean;
    description?: string;
    /** Its value comes from a file of the template's folder (*.auto.pkrvars.hcl), not from the command line. */
    fromTemplateFolder?: boolean;
  }[];
  /** JSON.stringify(keyPath) -> the comment lines written above it. */
  comments: Map<string, string[]>;
  /** Absolute path -> text of each file() read while loading. */
  filesRead: Map<string, string>;
}
