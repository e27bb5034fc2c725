import { join } from "node:path";
import { raceAbort, sleep, withTimeout } from "../../engine/abort.js";
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
    const { keys } = describeBootCommand(parseBootCommand(text));
    ctx.events.info(`typing ${keys} keys: ${text.join("")}`);
    const t0 = Date.now();
    // With boot_screenshots, each entry is typed on its own and followed by a PNG of the console.
    const groups = state.plan.source.boot_screenshots ? text.map((entry) => [entry]) : [text];
    for (const [i, group] of groups.entries()) {
      await raceAbort(typeActions(state.qmp!, parseBootCommand(group), { intervalMs: boot_key_interval, signal: ctx.signal }), ctx.signal);
      if (!state.plan.source.boot_screenshots) continue;
      const path = join(state.plan.source.output_directory, `boot-${i + 1}.png`);
      await withTimeout(state.qmp!.execute("screendump", { filename: path, format: "png" }), 5000, "screendump");
      ctx.events.emit({ type: "screenshot", path });
    }
    ctx.events.info(`typed in ${formatDuration(Date.now() - t0)}`);
  },
};
