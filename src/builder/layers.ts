// A build's layers (docs/cache.md): which cached layer it continues from, where each new
// layer's disk lives, and saving each layer when it is done. Layer 0 is the install (up to
// SSH answering), layer n the state after provisioner n; the last provisioner's layer is not
// kept (the shutdown follows at once). While a layer runs, QEMU writes its disk; the
// output's working disk name is a symlink to it until the last layer, whose overlay is a
// real file there, so compaction flattens the whole chain into the artifact as before.
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { evict, pinLayers, type Pin } from "../cache/evict.js";
import { LayerStore, MEMORY, type LayerMeta, type LayerWriter } from "../cache/store.js";
import { TsimgError } from "../core/errors.js";
import { hashFile } from "../util/hash-file.js";
import { formatDuration } from "../core/units.js";
import { TSIMG_VERSION } from "../core/version.js";
import type { BuildStepContext } from "./context.js";
import { firstLineOf } from "./inputs.js";
import { layerKeys, type LayerKey } from "./layer-keys.js";
import { createOverlay, diskNode, freezeLayer } from "./layer-vm.js";
import type { BuildPlan } from "./plan.js";
import type { QmpClient } from "../qemu/qmp.js";
import type { SshSession } from "../communicator/ssh.js";

/** What the manifest and the log say of each layer. */
export interface LayerReport {
  index: number;
  title: string;
  key: string;
  /** Taken from the cache (not run by this build). */
  reused: boolean;
  /** Written to the cache by this build. */
  saved: boolean;
}

export interface LayerRun {
  store: LayerStore;
  keys: LayerKey[];
  /** The layer this build continues from, when it found one. */
  restored?: LayerMeta | undefined;
  /**
   * The restored layer's memory file checked against its recorded hash, from the moment the
   * layer was found: start-qemu lets the guest run on from it only once this resolves.
   */
  memoryIntact?: Promise<void> | undefined;
  /** The guest runs on from the restored layer's memory (no boot); start-qemu sets it. */
  resumedFromMemory?: boolean;
  /** The highest layer index kept (the last provisioner's is not). */
  last: number;
  /** The writer of the layer running now, when this build may keep it. */
  writer?: LayerWriter | undefined;
  /** Every writer not committed yet: a failed build abandons them. */
  uncommitted: Set<LayerWriter>;
  /** The node and file QEMU writes now. */
  active: { node?: string; path: string; size: number };
  /** The output's working disk: a symlink to the running layer's disk, then the final overlay. */
  workingDisk: string;
  /** Disks of layers this build cannot keep (cache = false, or another build writes it). */
  privateDisks: string[];
  report: LayerReport[];
  /** Commits under way (hashing a frozen layer runs while the next one does). */
  commits: Promise<void>[];
  pin: Pin;
  maxBytes: number;
}

/** Why this build cannot use layers, or undefined when it can. */
export function layersUnavailable(plan: BuildPlan): string | undefined {
  const s = plan.source;
  if (s.communicator !== "ssh") return 'communicator is not "ssh"';
  if (plan.provisioners.length === 0) return "there are no provisioners";
  if (s.format !== "qcow2") return 'format is not "qcow2"';
  if (s.efi_boot) return "efi_boot keeps state outside the disk";
  if (s.vtpm) return "vtpm keeps state outside the disk";
  if (s.disk_additional_size.length > 0) return "disk_additional_size";
  if (s.use_backing_file || s.skip_compaction) return "the artifact would not be flattened";
  return undefined;
}

export interface LayerSettings {
  dir: string;
  maxBytes: number;
  /** --resume: fail unless a layer is found. */
  resume: boolean;
}

/** Computes the keys, finds the longest cached chain, and claims the next layer. */
export async function openLayers(
  ctx: BuildStepContext,
  settings: LayerSettings,
  isoSha256: string,
  workingDisk: string,
): Promise<LayerRun> {
  const { plan, options } = ctx.build;
  const store = await LayerStore.open(settings.dir);
  const versions = {
    tsimg: TSIMG_VERSION,
    qemu: await firstLineOf(plan.source.qemu_binary, ctx.signal),
    "qemu-img": await firstLineOf("qemu-img", ctx.signal),
  };
  const keys = await layerKeys(plan, {
    isoSha256,
    versions,
    salt: await cacheSalt(store),
    nonce: options.runUuid,
    signal: ctx.signal,
  });
  const last = keys.length - 2;
  const pin = await pinLayers(
    store,
    keys.map((k) => k.key),
  );
  for (;;) {
    const restored = await deepestIntact(ctx, store, keys.slice(0, last + 1));
    const next = keys[(restored?.index ?? -1) + 1]!;
    let writer: LayerWriter | undefined;
    if (next.index <= last && next.reusable) {
      writer = await store.beginOrWait(next.key, ctx.signal, (owner) =>
        ctx.events.info(
          `layer cache: build pid ${owner.pid} is making layer ${next.index} (${short(next.key)}); waiting for it`,
        ),
      );
      // Another build finished it meanwhile: look again, and continue from it.
      if (!writer) continue;
    }
    if (settings.resume && !restored)
      throw new TsimgError("--resume: no cached layer of this build to continue from", {
        details: ["run the build without --resume; it keeps each layer it finishes"],
      });
    const report = keys.slice(0, last + 1).map((k) => ({
      index: k.index,
      title: k.title,
      key: k.key,
      reused: restored !== undefined && k.index <= restored.index,
      saved: false,
    }));
    describe(ctx, keys, restored, last);
    if (restored) await store.touch(chainOf(keys, restored.index).map((k) => k.key));
    return {
      store,
      keys,
      restored,
      memoryIntact: restored?.files[MEMORY] ? memoryIntact(store, restored, ctx.signal) : undefined,
      last,
      writer,
      uncommitted: new Set(writer ? [writer] : []),
      active: { path: "", size: 0 },
      workingDisk,
      privateDisks: [],
      report,
      commits: [],
      pin,
      maxBytes: settings.maxBytes,
    };
  }
}

/** The deepest layer in the cache whose whole chain is intact; a corrupt one is removed and rebuilt. */
async function deepestIntact(
  ctx: BuildStepContext,
  store: LayerStore,
  keys: LayerKey[],
): Promise<LayerMeta | undefined> {
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!;
    if (!key.reusable) continue;
    const meta = await store.find(key.key);
    if (!meta) continue;
    const chain = [];
    for (let m: LayerMeta | undefined = meta; m; m = m.parent ? await store.find(m.parent) : undefined) chain.push(m);
    if (chain[chain.length - 1]!.parent !== null) continue;
    let intact = true;
    for (const layer of chain) {
      // Disks only: only the layer the build continues from has its memory loaded, and
      // start-qemu checks that file's hash while QEMU loads it (no guest runs on a bad one).
      const problem = await store.verify(layer, ctx.signal, [MEMORY]);
      if (!problem) continue;
      ctx.events.warn(
        `layer cache: layer ${layer.index} (${short(layer.key)}) is damaged (${problem}): removing it and rebuilding`,
      );
      await store.remove(layer.key);
      intact = false;
      break;
    }
    if (intact) return meta;
  }
  return undefined;
}

/**
 * Hashes a layer's memory file (the largest, so not at lookup with the disks): it runs while
 * the build starts QEMU and while QEMU loads the same file, on another core.
 */
function memoryIntact(store: LayerStore, layer: LayerMeta, signal: AbortSignal): Promise<void> {
  const check = hashFile(store.memoryOf(layer.key), ["sha256"], { signal }).then(({ sha256 }) => {
    if (sha256 !== layer.files[MEMORY]) throw new TsimgError(`${MEMORY} does not match its recorded sha256`);
  });
  check.catch(() => undefined); // awaited by start-qemu, unless the build stops before it
  return check;
}

function chainOf(keys: LayerKey[], index: number): LayerKey[] {
  return keys.slice(0, index + 1);
}

function describe(ctx: BuildStepContext, keys: LayerKey[], restored: LayerMeta | undefined, last: number): void {
  if (!restored) {
    ctx.events.info(`layer cache: no cached layer matches; building all ${last + 1} layer(s)`);
    return;
  }
  for (const k of chainOf(keys, restored.index))
    ctx.events.info(`layer cache: reusing layer ${k.index} (${k.title}) ${short(k.key)}`);
  ctx.events.info(
    `layer cache: continuing from layer ${restored.index}, saved ${formatDuration(Date.now() - restored.created)} ago; running ${keys.length - 1 - restored.index} provisioner(s)`,
  );
}

export function short(key: string): string {
  return key.slice(0, 12);
}

/** The disk the layer `index` writes: its cache entry's, a private one, or (after the last kept layer) the working disk. */
export function diskFor(run: LayerRun, index: number, outputDir: string): string {
  if (index > run.last) return run.workingDisk;
  if (run.writer && run.keys[index]!.key === run.writer.key) return run.writer.diskPath;
  const path = join(outputDir, `.layer-${index}.qcow2`);
  run.privateDisks.push(path);
  return path;
}

/** Points the working disk at the running layer's disk (the first one is made by create-disk, or is an overlay on the restored layer). */
export async function linkWorkingDisk(run: LayerRun, layerDisk: string): Promise<void> {
  if (layerDisk === run.workingDisk) return;
  await rm(run.workingDisk, { force: true });
  await symlink(layerDisk, run.workingDisk);
}

/** Makes the first disk of a build that continues from a cached layer: an overlay on it. */
export async function overlayOnRestored(run: LayerRun, outputDir: string, size: number): Promise<string> {
  const disk = diskFor(run, run.restored!.index + 1, outputDir);
  await createOverlay(disk, run.store.diskOf(run.restored!.key), size);
  return disk;
}

/**
 * Saves layer `index` (the VM is running it now): freezes its disk, keeps its memory when the
 * layer goes into the cache, and starts the next layer on a new overlay.
 */
export async function saveLayer(
  ctx: BuildStepContext,
  run: LayerRun,
  index: number,
  qmp: QmpClient,
  tempKey: string | undefined,
  session: SshSession | undefined,
): Promise<void> {
  const writer = run.writer?.key === run.keys[index]!.key ? run.writer : undefined;
  const outputDir = ctx.build.plan.source.output_directory;
  const nextKey = run.keys[index + 1]!;
  // The next layer goes into the cache only on top of one that does.
  run.writer = writer && index + 1 <= run.last && nextKey.reusable ? await run.store.begin(nextKey.key) : undefined;
  if (run.writer) run.uncommitted.add(run.writer);
  // After the last kept layer the guest writes the working disk itself. Its overlay takes that
  // name only after the freeze: QEMU reopens the frozen node read-only by the name it opened,
  // the working disk's symlink, so during the freeze that name must still lead to the frozen
  // disk (replacing it first made the guest read its own new overlay: ext4 errors, SFTP exit 126).
  const last = index + 1 > run.last;
  const nextPath = last ? `${run.workingDisk}.next` : diskFor(run, index + 1, outputDir);
  const t0 = Date.now();
  // The frozen disk must hold what the guest wrote: a later build boots it.
  if (session) {
    const synced = await session.exec("sync", () => undefined);
    if (synced.code !== 0)
      throw new TsimgError(`layer cache: sync in the guest failed (exit ${synced.code ?? "none"})`);
  }
  // QEMU opened the working disk (a symlink to this layer's disk): its node is the one to freeze.
  run.active.node ??= (await diskNode(qmp, run.workingDisk)).node;
  const nextNode = `tsimg-layer-${index + 1}-${randomBytes(3).toString("hex")}`;
  await freezeLayer(qmp, {
    top: run.active.node!,
    topPath: run.active.path,
    nextPath,
    nextNode,
    size: run.active.size,
    // A kept layer keeps the guest's memory too: a later build runs on from it instead of booting.
    memoryPath: writer?.memoryPath,
    signal: ctx.signal,
  });
  if (last) await rename(nextPath, run.workingDisk);
  else await linkWorkingDisk(run, nextPath);
  run.active = { node: nextNode, path: last ? run.workingDisk : nextPath, size: run.active.size };
  const key = run.keys[index]!;
  if (!writer) {
    ctx.events.info(
      `layer cache: layer ${index} (${key.title}) is not kept (${key.reusable ? "another build is writing it" : "cache = false"})`,
    );
    return;
  }
  ctx.events.info(
    `layer cache: saved layer ${index} (${key.title}) ${short(key.key)} in ${formatDuration(Date.now() - t0)}`,
  );
  run.report[index]!.saved = true;
  const parent = index === 0 ? null : run.keys[index - 1]!.key;
  run.commits.push(
    (async () => {
      if (tempKey) await LayerStore.writeSshKey(writer, tempKey);
      await writer.commit({ parent, index, title: key.title, image: ctx.build.plan.image.name });
      run.uncommitted.delete(writer);
    })(),
  );
}

/** After the build: finish commits, drop what was not finished, remove private disks, unpin, evict. */
export async function closeLayers(ctx: BuildStepContext, run: LayerRun): Promise<void> {
  const results = await Promise.allSettled(run.commits);
  for (const r of results)
    if (r.status === "rejected")
      ctx.events.warn(`layer cache: a layer could not be kept: ${(r.reason as Error).message}`);
  for (const writer of run.uncommitted) await writer.abandon();
  for (const disk of run.privateDisks) await rm(disk, { force: true });
  await run.pin.release();
  const { removed } = await evict(run.store, run.maxBytes);
  for (const layer of removed)
    ctx.events.info(
      `layer cache: evicted layer ${layer.index} (${layer.title}) ${short(layer.key)} of ${layer.image}: the cache is over its size limit`,
    );
}

/** A random value made once per cache: secrets enter keys only as HMACs with it. */
async function cacheSalt(store: LayerStore): Promise<string> {
  const path = join(store.root, ".salt");
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    await writeFile(path, randomBytes(32).toString("hex"), { flag: "wx", mode: 0o600 }).catch(() => undefined);
    return (await readFile(path, "utf8")).trim();
  }
}
