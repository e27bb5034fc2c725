// The layer cache on disk. Each layer is a directory named by its key:
//   <root>/<key>/disk.qcow2     the layer's disk, a qcow2 overlay on its parent's disk.qcow2
//   <root>/<key>/memory.state   the VM's memory at the end of the layer (QEMU's migration stream)
//   <root>/<key>/ssh-key        the temporary SSH key the guest trusts (0600), when there is one
//   <root>/<key>/meta.json      written last, atomically: a layer without it is not a layer
// A layer is written by the one build holding <root>/<key>.lock; a killed writer leaves a
// directory without meta.json, which the next taker of the lock (or prune) removes.
import { chmod, mkdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hashFile } from "../util/hash-file.js";
import { lock, tryLock, type HeldLock, type Owner } from "./lock.js";

/** What meta.json records of a finished layer. */
export interface LayerMeta {
  key: string;
  /** The parent layer's key; null for the install layer. */
  parent: string | null;
  /** 0: the OS install; n: after provisioner n. */
  index: number;
  /** What the layer did, for `tsimg cache ls` ("install", "provisioner 2: shell"). */
  title: string;
  /** The image's name, for `tsimg cache ls`. */
  image: string;
  /** ms since the epoch. */
  created: number;
  /** sha256 of each file of the layer, checked before use. */
  files: Record<string, string>;
}

export const DISK = "disk.qcow2";
export const MEMORY = "memory.state";
export const SSH_KEY = "ssh-key";
const META = "meta.json";

/** A layer being written; commit() makes it visible, abandon() throws it away. */
export interface LayerWriter {
  key: string;
  dir: string;
  diskPath: string;
  memoryPath: string;
  commit(meta: Omit<LayerMeta, "key" | "files" | "created">, signal?: AbortSignal): Promise<LayerMeta>;
  abandon(): Promise<void>;
}

export class LayerStore {
  private constructor(readonly root: string) {}

  /** Opens (creating, private to this user) the cache at `root`. */
  static async open(root: string): Promise<LayerStore> {
    await mkdir(root, { recursive: true, mode: 0o700 });
    return new LayerStore(root);
  }

  dirOf(key: string): string {
    return join(this.root, key);
  }

  diskOf(key: string): string {
    return join(this.root, key, DISK);
  }

  memoryOf(key: string): string {
    return join(this.root, key, MEMORY);
  }

  lockPathOf(key: string): string {
    return join(this.root, `${key}.lock`);
  }

  /** The finished layer with this key, or undefined. */
  async find(key: string): Promise<LayerMeta | undefined> {
    try {
      const meta = JSON.parse(await readFile(join(this.dirOf(key), META), "utf8")) as LayerMeta;
      return meta.key === key ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Why the layer cannot be trusted (a file missing, or changed since it was written), or
   * undefined when it is intact. `skip` names files the caller will not read (a parent's memory).
   */
  async verify(meta: LayerMeta, signal?: AbortSignal, skip: string[] = []): Promise<string | undefined> {
    for (const [name, sha256] of Object.entries(meta.files)) {
      if (skip.includes(name)) continue;
      const path = join(this.dirOf(meta.key), name);
      const actual = await hashFile(path, ["sha256"], signal ? { signal } : {}).then(
        (d) => d.sha256,
        (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? "missing" : Promise.reject(error)),
      );
      if (actual === "missing") return `${name} is missing`;
      if (actual !== sha256) return `${name} does not match its recorded sha256`;
    }
    return undefined;
  }

  /** The temporary SSH private key stored with a layer, if any. */
  async sshKeyOf(key: string): Promise<string | undefined> {
    return readFile(join(this.dirOf(key), SSH_KEY), "utf8").catch(() => undefined);
  }

  /** Records that a build used these layers now (least-recently-used eviction reads it). */
  async touch(keys: string[]): Promise<void> {
    const now = new Date();
    for (const key of keys) await utimes(join(this.dirOf(key), META), now, now).catch(() => undefined);
  }

  /** Removes a layer (finished or not) and its lock; the caller removes its descendants first. */
  async remove(key: string): Promise<void> {
    // meta.json first: from then on no build picks the layer up, even while the rest goes.
    await rm(join(this.dirOf(key), META), { force: true });
    await rm(this.dirOf(key), { recursive: true, force: true });
  }

  /**
   * Starts writing the layer `key` if this build may: undefined when the layer already exists
   * or another live build is writing it. Leftovers of a killed writer are removed first.
   */
  async begin(key: string): Promise<LayerWriter | undefined> {
    const held = await tryLock(this.lockPathOf(key));
    if (!held) return undefined;
    return this.startWriting(key, held);
  }

  /** As begin(), but waits while another build writes the layer; undefined when the layer exists (then reuse it). */
  async beginOrWait(
    key: string,
    signal: AbortSignal,
    onWait: (owner: Owner) => void,
  ): Promise<LayerWriter | undefined> {
    const held = await lock(this.lockPathOf(key), signal, onWait);
    return this.startWriting(key, held);
  }

  private async startWriting(key: string, held: HeldLock): Promise<LayerWriter | undefined> {
    if (await this.find(key)) {
      await held.release();
      return undefined;
    }
    const dir = this.dirOf(key);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o700 });
    const writer: LayerWriter = {
      key,
      dir,
      diskPath: join(dir, DISK),
      memoryPath: join(dir, MEMORY),
      commit: async (fields, signal) => {
        const files: Record<string, string> = {};
        for (const name of [DISK, MEMORY, SSH_KEY]) {
          const path = join(dir, name);
          if (!(await exists(path))) continue;
          files[name] = (await hashFile(path, ["sha256"], signal ? { signal } : {})).sha256!;
        }
        const meta: LayerMeta = { key, ...fields, created: Date.now(), files };
        await writeFile(join(dir, `${META}.partial`), `${JSON.stringify(meta, null, 2)}\n`);
        await rename(join(dir, `${META}.partial`), join(dir, META));
        await held.release();
        return meta;
      },
      abandon: async () => {
        await rm(dir, { recursive: true, force: true });
        await held.release();
      },
    };
    return writer;
  }

  /** Stores the temporary SSH key with a layer being written (readable by this user only). */
  static async writeSshKey(writer: LayerWriter, privateKey: string): Promise<void> {
    const path = join(writer.dir, SSH_KEY);
    await writeFile(path, privateKey, { mode: 0o600 });
    await chmod(path, 0o600);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
