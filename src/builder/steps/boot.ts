import { raceAbort, sleep } from "../../engine/abort.js";
import type { Step } from "../../engine/runner.js";
import { describeBootCommand, parseBootCommand } from "../../qemu/boot-command.js";
import { typeActions } from "../../qemu/type-keys.js";
import { renderRuntime } from "../../template/runtime-vars.js";
import { formatDuration } from "../../template/units.js";
import { runtimeValues, type QemuBuildState } from "../state.js";

/** Waits boot_wait, then types boot_command. */
export const typeBootCommand: Step<QemuBuildState> = {
  name: "boot-command",
  title: "Typing the boot command...",
  async run(ctx, state) {
    const { boot_wait, boot_command, boot_key_interval } = state.plan.source;
    const values = runtimeValues(state);
    const text = boot_command.map((entry) => renderRuntime(entry, values, "boot_command"));
    if (boot_wait > 0) {
      ctx.events.info(`waiting ${formatDuration(boot_wait)} (boot_wait)`);
      await sleep(boot_wait, ctx.signal);
    }
    if (text.length === 0) return;
    const actions = parseBootCommand(text);
    const { keys } = describeBootCommand(actions);
    ctx.events.info(`typing ${keys} keys: ${text.join("")}`);
    const t0 = Date.now();
    await raceAbort(typeActions(state.qmp!, actions, { intervalMs: boot_key_interval, signal: ctx.signal }), ctx.signal);
    ctx.events.info(`typed in ${formatDuration(Date.now() - t0)}`);
  },
};
