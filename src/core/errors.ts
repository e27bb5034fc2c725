// Error classes. The message is the product: a short `message` a user reads on one
// line, plus optional detail (`hint`, tails of logs) that the CLI prints under it.

/** Base of every error tsimg raises on purpose. Anything else is a bug and gets a stack trace. */
export class TsimgError extends Error {
  /** Extra lines shown under the message (log tails, hints). */
  readonly details: string[];

  constructor(message: string, options: { cause?: unknown; details?: string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? [];
  }
}

/** A problem in a template or its inputs, located by file, line, column and key path. */
export class ConfigError extends TsimgError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly key: string | undefined;

  constructor(
    message: string,
    where: { file?: string; line?: number; column?: number; key?: string; hint?: string } = {},
  ) {
    super(message, where.hint ? { details: [where.hint] } : {});
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.key = where.key;
  }

  /** "images/x.toml:12:3" or just the file name, or "" when nothing is known. */
  get location(): string {
    if (!this.file) return "";
    if (this.line === undefined) return this.file;
    return `${this.file}:${this.line}${this.column === undefined ? "" : `:${this.column}`}`;
  }
}

/** One build of a Packer template that has several: the -only pattern that picks it, and its short name. */
export interface TemplateBuild {
  only: string;
  name: string;
}

/**
 * A Packer template with several qemu builds left after -only/-except. One plan holds one
 * image, so loadTemplate refuses it; loadTemplates (and so `tsimg build`) loads each build.
 */
export class SeveralBuildsError extends ConfigError {
  readonly builds: TemplateBuild[];
  /** What loading found to warn about before it stopped (a skipped non-qemu source). */
  readonly warnings: ConfigError[];
  constructor(
    message: string,
    builds: TemplateBuild[],
    where: ConstructorParameters<typeof ConfigError>[1] = {},
    warnings: ConfigError[] = [],
  ) {
    super(message, where);
    this.builds = builds;
    this.warnings = warnings;
  }
}

/** Several config errors found at once (validation reports all of them). */
export class ConfigErrors extends TsimgError {
  readonly errors: ConfigError[];
  constructor(errors: ConfigError[]) {
    super(`${errors.length} error${errors.length === 1 ? "" : "s"} in template`);
    this.errors = errors;
  }
}

/** QEMU failed: it exited, crashed, or refused a command. Carries the tails of its stderr and serial console. */
export class QemuError extends TsimgError {}

/** The build was cancelled (Ctrl-C, SIGTERM, AbortSignal, superseded). */
export class CancelledError extends TsimgError {
  constructor(reason = "build cancelled") {
    super(reason);
  }
}

/** Something needs the build's VM (a console screenshot) while none is running: before QEMU started, or after it stopped. */
export class NoVmRunningError extends TsimgError {}

/** A time limit ran out; the message says which one and what was being waited for. */
export class TimeoutError extends TsimgError {}

/** Turns anything thrown into a TsimgError (unknown errors keep their stack in `cause`). */
export function asTsimgError(error: unknown): TsimgError {
  if (error instanceof TsimgError) return error;
  if (error instanceof Error) return new TsimgError(error.message, { cause: error });
  return new TsimgError(String(error));
}
