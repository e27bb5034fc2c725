// shell-local: runs scripts on this machine with the artifact's paths and data in the
// environment, streaming their output as events.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, constants, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { CancelledError, TsimgError } from "../errors.js";
import type { Artifact } from "./artifact.js";
import type { PostProcessor, PostProcessorContext, ShellLocalConfig } from "./types.js";

/** The environment a shell-local script gets (on top of tsimg's own). */
export function artifactEnvironment(artifact: Artifact, ctx: PostProcessorContext): Record<string, string> {
  const env: Record<string, string> = {
    PACKER_BUILD_NAME: ctx.build.name,
    PACKER_BUILDER_TYPE: "qemu",
    PACKER_RUN_UUID: ctx.build.runUuid,
    TSIMG_BUILD_NAME: ctx.build.name,
    TSIMG_RUN_UUID: ctx.build.runUuid,
    TSIMG_OUTPUT_DIR: ctx.outputDir,
    TSIMG_ARTIFACT: artifact.files[0] ?? "",
    TSIMG_ARTIFACT_FILES: artifact.files.join("\n"),
    TSIMG_ARTIFACT_ID: artifact.id,
  };
  if (artifact.format !== undefined) env.TSIMG_ARTIFACT_FORMAT = artifact.format;
  if (artifact.size !== undefined) env.TSIMG_ARTIFACT_SIZE = String(artifact.size);
  if (artifact.location !== undefined) env.TSIMG_ARTIFACT_LOCATION = artifact.location;
  for (const [type, hex] of Object.entries(artifact.checksums)) env[`TSIMG_CHECKSUM_${envName(type)}`] = hex;
  for (const [key, value] of Object.entries(artifact.image)) {
    if (value === undefined || value === null) continue;
    env[`TSIMG_IMAGE_${envName(key)}`] = typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return env;
}

function envName(key: string): string {
  return key.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

async function run(input: Artifact, config: ShellLocalConfig, ctx: PostProcessorContext): Promise<Artifact> {
  const env = { ...process.env, ...artifactEnvironment(input, ctx), ...parseVars(config.environment_vars) };
  if (config.inline) {
    const path = join(tmpdir(), `tsimg-shell-local-${randomBytes(4).toString("hex")}.sh`);
    await writeFile(path, `${config.inline.join("\n")}\n`, { mode: 0o700 });
    try {
      const [shell, ...flags] = config.inline_shebang.trim().split(/\s+/) as [string, ...string[]];
      await runScript([shell, ...flags, path], "inline script", env, config, ctx);
    } finally {
      await rm(path, { force: true });
    }
  } else {
    for (const script of config.script ? [config.script] : (config.scripts ?? [])) {
      const executable = await access(script, constants.X_OK).then(() => true, () => false);
      await runScript(executable ? [script] : ["/bin/sh", script], script, env, config, ctx);
    }
  }
  return input;
}

/** Runs argv, streaming each output line as an event; a code outside valid_exit_codes fails. */
function runScript(argv: string[], label: string, env: NodeJS.ProcessEnv, config: ShellLocalConfig, ctx: PostProcessorContext): Promise<void> {
  if (ctx.signal.aborted) return Promise.reject(new CancelledError());
  ctx.events.info(`shell-local: running ${label}`);
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    // Its own process group, so a cancel reaches the commands the script started too (a
    // `sleep` child would otherwise hold the output pipes open until it ends on its own).
    const child = spawn(command, args, { env, cwd: ctx.outputDir, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const source = basename(label);
    for (const stream of ["stdout", "stderr"] as const) {
      createInterface({ input: child[stream] }).on("line", (line) => ctx.events.emit({ type: "output", source, stream, line }));
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
      else reject(new TsimgError(`shell-local: ${label} ${signal ? `was killed by ${signal}` : `exited with code ${code}`} (valid_exit_codes: ${config.valid_exit_codes.join(", ")})`));
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

/** The shell-local post-processor. */
export const shellLocalPostProcessor: PostProcessor<ShellLocalConfig> = {
  type: "shell-local",
  keepInputByDefault: true,
  keepInputForced: false,
  run,
};
