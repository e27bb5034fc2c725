// The shell provisioner: upload each script (or the inline commands as one script) and
// run it with execute_command, streaming its output live, prefixed.
import { readFile } from "node:fs/promises";
import { basename, posix } from "node:path";
import { randomBytes } from "node:crypto";
import { TsimgError } from "../core/errors.js";
import { raceAbort } from "../core/abort.js";
import { renderRuntime } from "../core/runtime-vars.js";
import type { ShellProvisionerConfig } from "./options.js";
import type { ProvisionContext, ProvisionResult } from "./provisioner.js";

interface Script {
  /** What to call it in messages. */
  label: string;
  content: Buffer;
}

/** Runs the provisioner's scripts in order; a script outside valid_exit_codes fails the build. */
export async function runShell(config: ShellProvisionerConfig, ctx: ProvisionContext): Promise<ProvisionResult> {
  const env = { ...ctx.buildEnv, ...parseEnvironmentVars(config.environment_vars, ctx.runtime) };
  for (const script of await collectScripts(config)) {
    const remotePath = posix.join(config.remote_folder, `script_${randomBytes(4).toString("hex")}.sh`);
    ctx.events.info(`provisioning with shell script: ${script.label}`);
    await ctx.ssh.writeFile(remotePath, script.content, 0o755);
    const command = renderRuntime(
      config.execute_command,
      { ...ctx.runtime, Path: remotePath, Vars: formatVars(env) },
      "execute_command",
    );
    const result = await raceAbort(
      ctx.ssh.exec(command, (stream, line) =>
        ctx.events.emit({ type: "output", source: basename(script.label), stream, line }),
      ),
      ctx.signal,
    );
    if (result.code === undefined) {
      if (config.expect_disconnect) {
        ctx.events.info(`${script.label} dropped the connection (expect_disconnect = true)`);
        return { disconnected: true };
      }
      throw new TsimgError(`${script.label}: the SSH connection closed before the script finished`, {
        details: ["set expect_disconnect = true if the script reboots or stops sshd on purpose"],
      });
    }
    if (!config.valid_exit_codes.includes(result.code)) {
      throw new TsimgError(
        `${script.label} exited with code ${result.code} (valid_exit_codes: ${config.valid_exit_codes.join(", ")})`,
      );
    }
    // A script that starts a reboot often exits 0 before the connection drops; going on
    // over the dying session would fail the next command. expect_disconnect means "this
    // script may take the connection down", so the session ends here either way.
    if (config.expect_disconnect) return { disconnected: true };
    await ctx.ssh.exec(`rm -f ${remotePath}`, () => undefined).catch(() => undefined);
  }
  return { disconnected: false };
}

async function collectScripts(config: ShellProvisionerConfig): Promise<Script[]> {
  if (config.inline) {
    const body = `#!${config.inline_shebang}\n${config.inline.join("\n")}\n`;
    return [{ label: "inline script", content: Buffer.from(body) }];
  }
  const paths = config.script ? [config.script] : (config.scripts ?? []);
  return Promise.all(paths.map(async (path) => ({ label: path, content: await readFile(path) })));
}

/** environment_vars ["K=V"] -> { K: V }, with run-time placeholders filled in. */
function parseEnvironmentVars(vars: string[], runtime: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of vars) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new TsimgError(`environment_vars: "${entry}" is not KEY=value`);
    out[entry.slice(0, eq)] = renderRuntime(entry.slice(eq + 1), runtime, "environment_vars");
  }
  return out;
}

/** KEY='value' pairs, single-quoted so the remote shell takes them literally. */
export function formatVars(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}='${value.replace(/'/g, "'\\''")}'`)
    .join(" ");
}
