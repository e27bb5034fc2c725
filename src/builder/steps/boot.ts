import { join } from "node:path";
import { raceAbort, sleep, withTimeout } from "../../core/abort.js";
import { TsimgError } from "../../core/errors.js";
import { describeBootCommand, parseBootCommand } from "../../qemu/boot-command.js";
import { waitForBootScreen } from "../../qemu/boot-screen.js";
import { watchPs2Keyboard, type Ps2Watch } from "../../qemu/ps2-watch.js";
import { typeActions } from "../../qemu/type-keys.js";
import { renderRuntime } from "../../core/runtime-vars.js";
import { formatDuration } from "../../core/units.js";
import { runtimeValues, type BuildStep, type BuildStepContext } from "../context.js";
import type { HttpServing, PreparedOutput, SshKeyMade, VmStarted } from "../values.js";
import { tails } from "../qemu-tails.js";

/** What typing reads: the VM's QMP and output, the work dir, and the HTTP server the command may name. */
type BootInput = Pick<VmStarted, "qmp" | "qemu" | "serial" | "sshHostPort"> &
  Pick<PreparedOutput, "workDir"> &
  HttpServing &
  Partial<SshKeyMade>;

/**
 * Waits boot_wait and for the boot menu to draw, then types boot_command. When the command tells the guest to fetch from
 * the HTTP server and nothing is requested within http_request_timeout, the guest is stuck
 * (a mistyped or unread command, a wrong URL): screenshot, reset and retype
 * (boot_command_retries), then fail, rather than wait out ssh_timeout.
 */
export const typeBootCommand: BuildStep<BootInput> = {
  name: "boot-command",
  title: "Typing the boot command...",
  async run(ctx, input) {
    const { plan } = ctx.build;
    const { boot_command, boot_command_retries, http_request_timeout } = plan.source;
    const values = runtimeValues(plan, input);
    const text = boot_command.map((entry) => renderRuntime(entry, values, "boot_command"));
    const url = findServerUrl(text.join(""), input.http.port);
    const watchHttp = url !== undefined && http_request_timeout > 0;
    const gate = text.length && input.workDir ? await startGate(ctx, input) : undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        await bootWait(ctx);
        if (text.length) await waitForMenu(ctx, input);
        await typeText(ctx, input, text, gate);
        if (!watchHttp || (await requestedWithin(input, http_request_timeout, ctx.signal))) return;
        const what = `the guest requested nothing from the HTTP server within ${formatDuration(http_request_timeout)} of typing boot_command (http_request_timeout); it was told to fetch ${url}`;
        // A failed build's cleanup keeps the console as <output_directory>.failure.png.
        if (attempt >= boot_command_retries) {
          throw new TsimgError(`${what}: the boot command was mistyped, or the guest never fetched the kickstart`, {
            details: tails(input),
          });
        }
        // Beside output_directory, which a failed build removes.
        const shot = await screenshot(ctx, input, `${plan.source.output_directory}.boot-timeout-${attempt + 1}.png`);
        ctx.events.warn(
          `${what}; resetting the VM and typing it again (retry ${attempt + 1} of ${boot_command_retries}, boot_command_retries${shot ? `; the screen was ${shot}` : ""})`,
        );
        await withTimeout(input.qmp.execute("system_reset"), 5000, "system_reset", ctx.signal);
      }
    } finally {
      await gate?.stop();
    }
  },
};

async function bootWait(ctx: BuildStepContext): Promise<void> {
  const { boot_wait } = ctx.build.plan.source;
  if (boot_wait <= 0) return;
  ctx.events.info(`waiting ${formatDuration(boot_wait)} (boot_wait)`);
  await sleep(boot_wait, ctx.signal);
}

// boot_menu_timeout: typing into a BIOS that has not drawn its menu yet loses the keys.
async function waitForMenu(
  ctx: BuildStepContext,
  input: Pick<VmStarted, "qmp"> & Partial<Pick<PreparedOutput, "workDir">>,
): Promise<void> {
  const timeoutMs = ctx.build.plan.source.boot_menu_timeout;
  if (!timeoutMs || !input.workDir) return;
  const file = join(input.workDir, "boot-menu.ppm");
  const result = await waitForBootScreen(input.qmp, { file, timeoutMs, signal: ctx.signal });
  const waited = formatDuration(result.waitedMs);
  if (result.settled) ctx.events.info(`boot menu drawn (the console stopped changing) after ${waited}`);
  else if (result.reason === "timeout")
    ctx.events.warn(
      `the console was still changing after ${waited} (boot_menu_timeout): typing boot_command anyway, keys may be lost`,
    );
  else ctx.events.debug(`not waiting for the boot menu: no screen to read (${result.detail ?? "screendump failed"})`);
}

async function typeText(
  ctx: BuildStepContext,
  vm: Pick<VmStarted, "qmp">,
  text: string[],
  gate: Ps2Watch | undefined,
): Promise<void> {
  if (text.length === 0) return;
  const { boot_key_interval, boot_screenshots, output_directory } = ctx.build.plan.source;
  const { keys } = describeBootCommand(parseBootCommand(text));
  ctx.events.info(`typing ${keys} keys: ${text.join("")}`);
  const t0 = Date.now();
  const options = {
    intervalMs: boot_key_interval,
    signal: ctx.signal,
    gate,
    onStall: (message: string) => ctx.events.warn(message),
  };
  // With boot_screenshots, each entry is typed on its own and followed by a PNG of the console.
  const groups = boot_screenshots ? text.map((entry) => [entry]) : [text];
  for (const [i, group] of groups.entries()) {
    await raceAbort(typeActions(vm.qmp, parseBootCommand(group), options), ctx.signal);
    if (boot_screenshots) await screenshot(ctx, vm, join(output_directory, `boot-${i + 1}.png`));
  }
  ctx.events.info(`typed in ${formatDuration(Date.now() - t0)}`);
}

// Pacing by the guest's reads needs QEMU's trace log; without it, boot_key_interval alone paces.
async function startGate(
  ctx: BuildStepContext,
  input: Pick<VmStarted, "qmp"> & Pick<PreparedOutput, "workDir">,
): Promise<Ps2Watch | undefined> {
  const gate = await watchPs2Keyboard(input.qmp, join(input.workDir, "ps2-trace.log")).catch(() => undefined);
  if (!gate)
    ctx.events.warn(
      "this QEMU cannot report the guest's keyboard reads (no log trace backend): typing is paced by boot_key_interval only",
    );
  return gate;
}

async function requestedWithin(input: HttpServing, ms: number, signal: AbortSignal): Promise<boolean> {
  return withTimeout(input.http.firstRequest, ms, "http_request_timeout", signal).then(
    () => true,
    (error: unknown) => {
      if (signal.aborted) throw error;
      return false;
    },
  );
}

/** Saves a PNG of the console; undefined (and a debug line) if QEMU could not. */
async function screenshot(
  ctx: BuildStepContext,
  vm: Pick<VmStarted, "qmp">,
  path: string,
): Promise<string | undefined> {
  try {
    await withTimeout(
      vm.qmp.execute("screendump", { filename: path, format: "png" }),
      10_000,
      "screendump",
      ctx.signal,
    );
    ctx.events.emit({ type: "screenshot", path });
    return path;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    ctx.events.debug(`no console screenshot: ${(error as Error).message}`);
    return undefined;
  }
}

/** The first URL in the typed text that points at the build's HTTP server, if any. */
export function findServerUrl(typed: string, port: number): string | undefined {
  const match = new RegExp(`(?:https?://)?[A-Za-z0-9.\\-\\[\\]]+:${port}(?![0-9])(?:/[^\\s<>"']*)?`).exec(typed);
  if (!match) return undefined;
  return match[0].includes("://") ? match[0] : `http://${match[0]}`;
}
