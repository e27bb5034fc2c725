// Scripts run on the build host (shell-local, as a provisioner and as a post-processor):
// inline commands as one script, or script files, each in its own process group so a
// cancel reaches whatever it started, with every output line streamed as an event.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, constants, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import type { ConfigOf, OptionTable } from "../core/options.js";
import { CancelledError, TsimgError } from "../core/errors.js";

/** What both shell-locals (provisioner and post-processor) take to run scripts on the build host. */
export const LOCAL_SCRIPT_OPTIONS = {
  inline: {
    type: "string[]",
    doc: "Commands run on the build host as one script (`inline_shebang`). Exactly one of `inline`, `script`, `scripts`.",
    packer: "`inline`",
  },
  inline_shebang: {
    type: "string",
    default: "/bin/sh -e",
    doc: "Interpreter of the script made from `inline`.",
    packer: "`inline_shebang`",
  },
  script: {
    type: "path",
    doc: "A local script, relative to the template, run with `/bin/sh` unless it is executable.",
    packer: "`script`",
  },
  scripts: { type: "path[]", doc: "Several scripts, run in order.", packer: "`scripts`" },
  valid_exit_codes: {
    type: "integer[]",
    default: [0],
    doc: "Exit codes that count as success.",
    packer: "`valid_exit_codes`",
  },
} as const satisfies OptionTable;

/** What runLocalScripts takes: the options above, and the environment both shell-locals add. */
export type LocalScriptsConfig = ConfigOf<typeof LOCAL_SCRIPT_OPTIONS> & { environment_vars: string[] };

export interface LocalScriptsContext {
  /** Added to this process's environment (before environment_vars). */
  env: Record<string, string>;
  cwd: string;
  signal: AbortSignal;
  events: {
    info(message: string): void;
    emit(event: { type: "output"; source: string; stream: "stdout" | "stderr"; line: string }): void;
  };
}

/** Runs the inline commands or each script in order; a code outside valid_exit_codes fails. */
export async function runLocalScripts(config: LocalScriptsConfig, ctx: LocalScriptsContext): Promise<void> {
  const env = { ...process.env, ...ctx.env, ...parseVars(config.environment_vars) };
  if (config.inline) {
    const path = join(tmpdir(), `tsimg-shell-local-${randomBytes(4).toString("hex")}.sh`);
    await writeFile(path, `${config.inline.join("\n")}\n`, { mode: 0o700 });
    try {
      const [shell, ...flags] = config.inline_shebang.trim().split(/\s+/) as [string, ...string[]];
      await runScript([shell, ...flags, path], "inline script", env, config, ctx);
    } finally {
      await rm(path, { force: true });
    }
    return;
  }
  for (const script of config.script ? [config.script] : (config.scripts ?? [])) {
    const executable = await access(script, constants.X_OK).then(
      () => true,
      () => false,
    );
    await runScript(executable ? [script] : ["/bin/sh", script], script, env, config, ctx);
  }
}

/** Runs argv, streaming each output line as an event; a code outside valid_exit_codes fails. */
function runScript(
  argv: string[],
  label: string,
  env: NodeJS.ProcessEnv,
  config: LocalScriptsConfig,
  ctx: LocalScriptsContext,
): Promise<void> {
  if (ctx.signal.aborted) return Promise.reject(new CancelledError());
  ctx.events.info(`shell-local: running ${label}`);
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    // Its own process group, so a cancel reaches the commands the script started too (a
    // `sleep` child would otherwise hold the output pipes open until it ends on its own).
    const child = spawn(command, args, { env, cwd: ctx.cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const source = basename(label);
    for (const stream of ["stdout", "stderr"] as const) {
      createInterface({ input: child[stream] }).on("line", (line) =>
        ctx.events.emit({ type: "output", source, stream, line }),
      );
    }
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    const onAbort = () => {
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), 5000).unref();
    };
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    child.once("error", (error) => reject(new TsimgError(`shell-local: cannot run ${label}: ${error.message}`)));
    child.once("close", (code, signal) => {
      ctx.signal.removeEventListener("abort", onAbort);
      clearTimeout(killTimer);
      if (ctx.signal.aborted) reject(new CancelledError());
      else if (code !== null && config.valid_exit_codes.includes(code)) resolve();
      else
        reject(
          new TsimgError(
            `shell-local: ${label} ${signal ? `was killed by ${signal}` : `exited with code ${code}`} (valid_exit_codes: ${config.valid_exit_codes.join(", ")})`,
          ),
        );
    });
  });
}

function parseVars(vars: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of vars) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new TsimgError(`shell-local: environment_vars: "${entry}" is not KEY=value`);
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}
