// The layer cache's steps (docs/cache.md): find the longest cached chain before anything is
// made, and save the install layer once SSH answers. The steps that behave differently when
// the build continues from a cached layer (the temporary key, the disk, the boot command)
// are wrapped here, so they themselves stay as they were.
import { join } from "node:path";
import { TsimgError } from "../../core/errors.js";
import { diskInfo } from "../../qemu/qemu-img.js";
import { formatDuration } from "../../core/units.js";
import type { SshSession } from "../../communicator/ssh.js";
import type { BuildStep, BuildStepContext } from "../context.js";
import {
  closeLayers,
  diskFor,
  layersUnavailable,
  linkWorkingDisk,
  openLayers,
  overlayOnRestored,
  saveLayer,
  short,
} from "../layers.js";
import type {
  CreatedDisks,
  FetchedIso,
  LayersPlanned,
  PreparedOutput,
  SshConnected,
  SshKeyMade,
  VmStarted,
} from "../values.js";

/** Where the build's layers are kept, or undefined when it uses none (and why, logged). */
function settings(ctx: BuildStepContext) {
  const { plan, options } = ctx.build;
  const why = !options.layers.enabled
    ? "--no-cache"
    : !plan.source.layer_cache
      ? "layer_cache = false"
      : layersUnavailable(plan);
  if (why) {
    if (options.layers.resume)
      throw new TsimgError(`--resume needs the layer cache, which this build cannot use: ${why}`);
    ctx.events.info(`layer cache: not used (${why})`);
    return undefined;
  }
  return {
    dir: options.layers.dir ?? plan.source.layer_cache_dir ?? join(options.cacheDir, "layers"),
    maxBytes: plan.source.layer_cache_size * 1024 * 1024,
    resume: options.layers.resume,
  };
}

/** Finds the cached layers this build can continue from, and claims the next one. */
export const lookupLayers: BuildStep<FetchedIso, Partial<LayersPlanned>> = {
  name: "layer-cache",
  title: "Looking up cached layers...",
  async run(ctx, input, progress) {
    const wanted = settings(ctx);
    if (!wanted) return {};
    const isoSha256 = input.isoSha256;
    if (!isoSha256) throw new TsimgError("layer cache: the ISO's sha256 is unknown (fetch-iso did not compute it)");
    const working = join(ctx.build.plan.source.output_directory, `.${ctx.build.plan.source.vm_name}.building`);
    progress.layers = await openLayers(ctx, wanted, isoSha256, working);
    return { layers: progress.layers };
  },
  async cleanup(ctx, _input, done) {
    if (done.layers) await closeLayers(ctx, done.layers);
  },
};

/** ssh-key, or the key the cached layer's guest already trusts. */
export function keyFromLayer<In extends object>(
  step: BuildStep<In, SshKeyMade>,
): BuildStep<In & Partial<LayersPlanned>, SshKeyMade> {
  return {
    ...step,
    async run(ctx, input, progress) {
      const restored = input.layers?.restored;
      if (!restored) return step.run(ctx, input, progress);
      const text = await input.layers!.store.sshKeyOf(restored.key);
      if (!text) throw new TsimgError(`layer cache: layer ${short(restored.key)} has no SSH key; run with --no-cache`);
      ctx.events.info("temporary key: the one the cached layer's guest trusts");
      return { tempKey: JSON.parse(text) as SshKeyMade["tempKey"] };
    },
  };
}

/** create-disk into the first layer's disk; or, continuing from a cached layer, an overlay on it. */
export function diskOnLayers<In extends FetchedIso & Pick<PreparedOutput, "diskPath">>(
  step: BuildStep<In, CreatedDisks>,
): BuildStep<In & Partial<LayersPlanned>, CreatedDisks> {
  return {
    ...step,
    async run(ctx, input, progress) {
      const run = input.layers;
      if (!run) return step.run(ctx, input, progress);
      const outputDir = ctx.build.plan.source.output_directory;
      if (run.restored) {
        const size = (await diskInfo(run.store.diskOf(run.restored.key), ctx.signal)).virtualSize;
        const disk = await overlayOnRestored(run, outputDir, size);
        run.active = { path: disk, size };
        await linkWorkingDisk(run, disk);
        ctx.events.info(`created an overlay on cached layer ${run.restored.index} (${short(run.restored.key)})`);
        return { additionalDisks: [] };
      }
      const disk = diskFor(run, 0, outputDir);
      const made = await step.run(ctx, { ...input, diskPath: disk }, progress);
      run.active = { path: disk, size: (await diskInfo(disk, ctx.signal)).virtualSize };
      await linkWorkingDisk(run, disk);
      return made;
    },
  };
}

/** Skips the step when the build continues from a cached layer (the boot command: the OS is installed, its disk boots). */
export function unlessRestored<In extends object>(step: BuildStep<In>): BuildStep<In & Partial<LayersPlanned>> {
  return {
    ...step,
    async run(ctx, input, progress) {
      if (input.layers?.restored) {
        const how = input.layers.resumedFromMemory ? "the guest runs on" : "the installed disk boots";
        ctx.events.info(`continuing from a cached layer: nothing to type, ${how}`);
        return;
      }
      return step.run(ctx, input, progress);
    },
  };
}

/** With SSH up: a cold build saves the install layer (a build that continued from a cached layer has it). */
export const installLayer: BuildStep<
  Partial<LayersPlanned & SshKeyMade> & SshConnected & Pick<VmStarted, "qmp" | "sshHostPort" | "qemu" | "serial">
> = {
  name: "install-layer",
  title: "Saving the install layer...",
  async run(ctx, input) {
    const run = input.layers;
    if (run?.resumedFromMemory && input.ssh.session) await setGuestClock(ctx, input.ssh.session);
    if (!run || run.restored) return;
    await saveLayer(ctx, run, 0, input.qmp, input.tempKey && JSON.stringify(input.tempKey), input.ssh.session);
  },
};

/**
 * A guest run on from a layer's memory has the clock of the moment the layer was saved:
 * set it to now, as a boot would, so that provisioners see the right time (TLS, package
 * timestamps). A user who may not set it gets a warning with the offset.
 */
async function setGuestClock(ctx: BuildStepContext, session: SshSession): Promise<void> {
  const now = Math.round(Date.now() / 1000);
  let guestTime = "";
  await session.exec("date -u +%s", (_stream, line) => (guestTime ||= line.trim()));
  const set = `date -u -s @${now} >/dev/null 2>&1 || sudo -n date -u -s @${now} >/dev/null 2>&1`;
  const result = await session.exec(set, () => undefined);
  const behind = now - Number(guestTime);
  if (result.code === 0)
    ctx.events.info(`set the guest's clock to the host's (it was ${formatDuration(behind * 1000)} behind)`);
  else
    ctx.events.warn(
      `the guest's clock is ${formatDuration(behind * 1000)} behind (restored from the layer's memory) and ${ctx.build.plan.source.ssh_username} may not set it`,
    );
}
