// What the layer cache holds, and keeping it under its size limit: the least recently used
// layers go first, a layer goes with its descendants (their disks need it), and nothing a
// running build uses (pinned) or writes (locked) is touched. Directories left by a killed
// writer are garbage and always go.
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { isAlive, isLocked, thisProcess, type Owner } from "./lock.js";
import type { LayerMeta, LayerStore } from "./store.js";

export interface LayerInfo extends LayerMeta {
  /** Bytes on disk (all its files). */
  bytes: number;
  /** ms since the epoch the layer was last used (or written). */
  lastUsed: number;
}

export interface CacheListing {
  layers: LayerInfo[];
  /** Layer directories without meta.json that no live build is writing (a killed build's). */
  garbage: string[];
  /** Bytes of everything, garbage included. */
  totalBytes: number;
}

const PINS = ".pins";
/** A layer's directory name: its key, a sha256. */
const KEY = /^[0-9a-f]{64}$/;

/** Every layer, oldest use first. */
export async function listLayers(store: LayerStore): Promise<CacheListing> {
  const layers: LayerInfo[] = [];
  const garbage: string[] = [];
  let totalBytes = 0;
  for (const entry of await readdir(store.root, { withFileTypes: true }).catch(() => [])) {
    // Only what a build could have made: a directory named by a key. The cache's directory may
    // be shared with other files (a template's layer_cache_dir), and those are never touched.
    if (!entry.isDirectory() || !KEY.test(entry.name)) continue;
    const key = entry.name;
    const bytes = await directoryBytes(store.dirOf(key));
    totalBytes += bytes;
    const meta = await store.find(key);
    if (!meta) {
      if (!(await isLocked(store.lockPathOf(key)))) garbage.push(key);
      continue;
    }
    const lastUsed = await stat(join(store.dirOf(key), "meta.json")).then(
      (s) => s.mtimeMs,
      () => meta.created,
    );
    layers.push({ ...meta, bytes, lastUsed });
  }
  layers.sort((a, b) => a.lastUsed - b.lastUsed);
  return { layers, garbage, totalBytes };
}

export interface Eviction {
  removed: LayerInfo[];
  garbage: string[];
  totalBytes: number;
}

/**
 * Removes garbage, then least-recently-used layers (with their descendants) until the cache
 * holds at most `maxBytes`; `maxBytes` 0 removes every layer not in use.
 */
export async function evict(store: LayerStore, maxBytes: number): Promise<Eviction> {
  const { layers, garbage, totalBytes } = await listLayers(store);
  let total = totalBytes;
  for (const key of garbage) {
    total -= await directoryBytes(store.dirOf(key));
    await rm(store.dirOf(key), { recursive: true, force: true });
  }
  const pinned = await pinnedKeys(store);
  const removed: LayerInfo[] = [];
  const gone = new Set<string>();
  for (const candidate of layers) {
    if (total <= maxBytes) break;
    if (gone.has(candidate.key)) continue;
    const family = [candidate, ...descendants(candidate.key, layers)];
    if (family.some((l) => pinned.has(l.key))) continue;
    if ((await Promise.all(family.map((l) => isLocked(store.lockPathOf(l.key))))).some(Boolean)) continue;
    // Children first: a parent never goes while a child that needs it is still there.
    for (const layer of family.reverse()) {
      if (gone.has(layer.key)) continue;
      await store.remove(layer.key);
      gone.add(layer.key);
      removed.push(layer);
      total -= layer.bytes;
    }
  }
  return { removed, garbage, totalBytes: total };
}

/** Every layer built on `key`, at any depth. */
function descendants(key: string, layers: LayerInfo[]): LayerInfo[] {
  const children = layers.filter((l) => l.parent === key);
  return children.flatMap((c) => [c, ...descendants(c.key, layers)]);
}

/** A running build's claim on layers its disks are built on; release() drops it. */
export interface Pin {
  release(): Promise<void>;
}

/** Marks layers as in use by this process until released (or until it dies). */
export async function pinLayers(store: LayerStore, keys: string[]): Promise<Pin> {
  const dir = join(store.root, PINS);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${process.pid}-${randomBytes(6).toString("hex")}.json`);
  await writeFile(path, JSON.stringify({ owner: thisProcess(), keys }));
  return { release: () => rm(path, { force: true }) };
}

/** Keys pinned by live processes; pins of dead ones are removed. */
async function pinnedKeys(store: LayerStore): Promise<Set<string>> {
  const dir = join(store.root, PINS);
  const keys = new Set<string>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    try {
      const pin = JSON.parse(await readFile(path, "utf8")) as { owner: Owner; keys: string[] };
      if (!isAlive(pin.owner)) {
        await rm(path, { force: true });
        continue;
      }
      for (const key of pin.keys) keys.add(key);
    } catch {
      await rm(path, { force: true });
    }
  }
  return keys;
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    // Allocated blocks, not the apparent size: a qcow2 or a migration stream may be sparse.
    total += await stat(join(dir, name)).then(
      (s) => s.blocks * 512,
      () => 0,
    );
  }
  return total;
}
