// The option kit: every component describes its options in one table (type, default, meaning,
// Packer equivalent). Validation reads the table (check-options.ts), docs/reference.md is
// generated from it, and the component's config type is derived from it (ConfigOf), so the
// three cannot drift apart.

export type OptionType =
  | "string"
  | "path"
  | "integer"
  | "boolean"
  | "size"
  | "duration"
  | "string[]"
  | "path[]"
  | "integer[]"
  | "size[]"
  | "string[][]"
  | "table"
  /** A table whose values are lists of strings (qemu_img_args). */
  | "table of string[]"
  | { enum: readonly string[] };

export interface OptionSpec {
  type: OptionType;
  /** Default as a user would write it in TOML; absent when there is none or it is computed. */
  default?: string | number | boolean | readonly (string | number)[];
  /** Words for a computed default. */
  defaultDoc?: string;
  required?: boolean;
  /** Set by the component's checks when not written (a default computed from other values). */
  computed?: boolean;
  /** Masked as `<sensitive>` in every output. */
  secret?: boolean;
  /** Smallest value allowed: integers as written, sizes in MiB (every size must be at least 1 MiB). */
  min?: number;
  /** Largest value allowed, as `min`. */
  max?: number;
  doc: string;
  /** Packer's name for it, and what differs. */
  packer: string;
  /** A duration that may be negative, meaning 0 (Packer's `boot_wait = "-1s"`). */
  negativeIsZero?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;

/** TCP ports: every port option is checked against this range. */
export const PORT = { min: 1, max: 65_535 } as const;

/** 64 TiB in MiB: far above any real disk; a larger size is a typo of a unit. */
export const MAX_DISK_MIB = 64 * 1024 * 1024;

/** The value an option of type T has once converted: sizes in MiB, durations in ms, paths absolute. */
export type ValueOf<T extends OptionType> = T extends { enum: readonly (infer E)[] }
  ? E
  : T extends "string" | "path"
    ? string
    : T extends "integer" | "size" | "duration"
      ? number
      : T extends "boolean"
        ? boolean
        : T extends "string[]" | "path[]"
          ? string[]
          : T extends "integer[]" | "size[]"
            ? number[]
            : T extends "string[][]"
              ? string[][]
              : T extends "table"
                ? Record<string, string>
                : T extends "table of string[]"
                  ? Record<string, string[]>
                  : never;

type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** Keys whose spec has `F: true` or, for "default", any default. */
type KeysWith<T extends OptionTable, F> = { [K in keyof T]: T[K] extends F ? K : never }[keyof T];

type Build<T extends OptionTable, Present extends keyof T> = Flatten<
  { -readonly [K in Present]: ValueOf<T[K]["type"]> } & {
    -readonly [K in Exclude<keyof T, Present>]?: ValueOf<T[K]["type"]>;
  }
>;

/** What checkTable returns: required and defaulted options present, the rest optional. */
export type CheckedOf<T extends OptionTable> = Build<T, KeysWith<T, { required: true } | { default: unknown }>>;

/**
 * A component's config, derived from its option table: required, defaulted and computed
 * options present, the rest optional. `Normalised` gives the type of values the component's
 * checks reshape (qemu_img_args) or narrow (a provisioner's `type`).
 */
export type ConfigOf<
  T extends OptionTable,
  Normalised extends Partial<Record<keyof T, unknown>> = Record<never, never>,
> = Flatten<
  Omit<Build<T, KeysWith<T, { required: true } | { default: unknown } | { computed: true }>>, keyof Normalised> &
    Normalised
>;

/** The non-empty string values of a config's `secret` options, in table order. */
export function secretValues(table: OptionTable, config: object): string[] {
  const values = config as Record<string, unknown>;
  return Object.keys(table).flatMap((key) => {
    const value = values[key];
    return table[key]?.secret && typeof value === "string" && value !== "" ? [value] : [];
  });
}
