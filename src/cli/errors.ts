// How errors look on the console: one readable line (with file:line:col where known),
// details indented under it, and a stack trace only with --debug.
import { ConfigError, ConfigErrors, TsimgError } from "../index.js";

/** Lines to print for an error. */
export function formatError(error: unknown, debug: boolean): string[] {
  if (error instanceof ConfigErrors) return error.errors.flatMap((e) => formatError(e, debug));
  if (error instanceof ConfigError) {
    const where = error.location ? `${error.location}: ` : "";
    const key = error.key && !error.message.includes(error.key) ? ` [${error.key}]` : "";
    return [`Error: ${where}${error.message}${key}`, ...error.details.map((d) => `  ${d}`), ...stack(error, debug)];
  }
  if (error instanceof TsimgError)
    return [`Error: ${error.message}`, ...error.details.map((d) => `  ${d}`), ...stack(error, debug)];
  const e = error instanceof Error ? error : new Error(String(error));
  return [`Error (a bug in tsimg, please report it): ${e.message}`, ...(e.stack ?? "").split("\n").slice(1)];
}

function stack(error: Error, debug: boolean): string[] {
  if (!debug) return [];
  const cause = error.cause instanceof Error ? error.cause : error;
  return (cause.stack ?? "").split("\n").slice(1);
}
