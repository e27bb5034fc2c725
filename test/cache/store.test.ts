// The layer cache under concurrency and faults, with real qemu-img and small qcow2 files,
// and real processes for the cross-process cases (no VM needed): two builders sharing a
// layer make it once; a writer killed with -9 leaves nothing a build would use; a damaged
// layer is caught by its hash; eviction keeps the cache under its limit, least recently used
// first, never a parent without its children, never what a live build pins or writes.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  writeSync,
  closeSync,
  utimesSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { evict, listLayers, pinLayers } from "../../src/cache/evict.js";
import { tryLock } from "../../src/cache/lock.js";
import { LayerStore } from "../../src/cache/store.js";

const DIST_STORE = resolve("dist/cache/store.js");
/** A key as builds make them (a sha256), named for the test. */
const k = (name: string) => createHash("sha256").update(name).digest("hex");

/** A qcow2 holding `mib` MiB of written data (so it takes room on disk), on `backing` if given. */
function qcow2(path: string, mib: number, backing?: string): void {
  execFileSync("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    ...(backing ? ["-b", backing, "-F", "qcow2"] : []),
    path,
    "64M",
  ]);
  if (mib > 0) execFileSync("qemu-io", ["-f", "qcow2", "-c", `write -P 0x5a 0 ${mib}M`, path], { stdio: "ignore" });
}

async function makeLayer(store: LayerStore, key: string, parent: string | null, mib = 1): Promise<void> {
  const writer = await store.begin(key);
  if (!writer) throw new Error(`could not begin ${key}`);
  qcow2(writer.diskPath, mib, parent ? store.diskOf(parent) : undefined);
  await import("node:fs/promises").then((fs) => fs.writeFile(writer.memoryPath, `memory of ${key}`));
  await writer.commit({ parent, index: parent ? 1 : 0, title: key, image: "t" });
}

/**
 * A child process that takes layer `key` (waiting if needed) and builds it slowly, unless it
 * exists; prints what it did. It holds the layer for `hold` ms, or until the file `hold` exists.
 */
function builder(root: string, key: string, hold: number | string) {
  const script = `
    import { LayerStore } from ${JSON.stringify(DIST_STORE)};
    import { execFileSync } from "node:child_process";
    import { existsSync } from "node:fs";
    const store = await LayerStore.open(${JSON.stringify(root)});
    const writer = await store.beginOrWait(${JSON.stringify(key)}, new AbortController().signal, () => console.log("waited"));
    if (!writer) { console.log("reused"); process.exit(0); }
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", writer.diskPath, "16M"]);
    console.log("building");
    const hold = ${JSON.stringify(hold)};
    if (typeof hold === "number") await new Promise((r) => setTimeout(r, hold));
    else while (!existsSync(hold)) await new Promise((r) => setTimeout(r, 20));
    await writer.commit({ parent: null, index: 0, title: "install", image: "t" });
    console.log("built");
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((r) => child.on("close", () => r(out)));
  return { child, done, output: () => out };
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("layer cache store", () => {
  it("two builds needing the same layer build it once: the second waits, then reuses it", async () => {
    expect(existsSync(DIST_STORE), "run npm run build first").toBe(true);
    const root = mkdtempSync(join(tmpdir(), "tsimg-cache-"));
    // A holds the layer until B has said it waits (a fixed hold raced B's start on a loaded machine).
    const gate = join(mkdtempSync(join(tmpdir(), "tsimg-gate-")), "release-a");
    const a = builder(root, k("k0"), gate);
    await until(() => a.output().includes("building"));
    const b = builder(root, k("k0"), 0);
    await until(() => b.output().includes("waited"));
    writeFileSync(gate, "");
    const [outA, outB] = await Promise.all([a.done, b.done]);
    expect(outA).toContain("built");
    expect(outB).toMatch(/waited[\s\S]*reused/);
    const store = await LayerStore.open(root);
    expect((await store.find(k("k0")))?.key).toBe(k("k0"));
  }, 30_000);

  it("a writer killed with -9 leaves no layer; the next build takes the stale lock over and makes it", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsimg-cache-"));
    const a = builder(root, k("k0"), 60_000);
    await until(() => a.output().includes("building"));
    a.child.kill("SIGKILL");
    await a.done;
    const store = await LayerStore.open(root);
    expect(existsSync(store.diskOf(k("k0")))).toBe(true); // half-written
    expect(await store.find(k("k0"))).toBeUndefined(); // never used
    expect((await listLayers(store)).garbage).toEqual([k("k0")]);
    const b = builder(root, k("k0"), 0);
    expect(await b.done).toMatch(/^building\nbuilt\n$/);
    expect((await store.find(k("k0")))?.key).toBe(k("k0"));
    expect((await listLayers(store)).garbage).toEqual([]);
  }, 30_000);

  it("a damaged layer fails verification: a changed byte in its disk or its memory, or a missing file", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsimg-cache-"));
    const store = await LayerStore.open(root);
    await makeLayer(store, k("k0"), null);
    const meta = (await store.find(k("k0")))!;
    expect(await store.verify(meta)).toBeUndefined();
    const fd = openSync(store.diskOf(k("k0")), "r+");
    writeSync(fd, Buffer.from([0xff]), 0, 1, 70_000);
    closeSync(fd);
    expect(await store.verify(meta)).toBe("disk.qcow2 does not match its recorded sha256");
    await makeLayer(store, k("k1"), null);
    await import("node:fs/promises").then((fs) => fs.rm(store.memoryOf(k("k1"))));
    expect(await store.verify((await store.find(k("k1")))!)).toBe("memory.state is missing");
    // A parent layer's memory is never loaded: a build continuing from a child skips it.
    expect(await store.verify((await store.find(k("k1")))!, undefined, ["memory.state"])).toBeUndefined();
  });

  it("evicts least recently used layers, children with their parent, never pinned or locked ones", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsimg-cache-"));
    const store = await LayerStore.open(root);
    mkdirSync(join(root, "notes"));
    // Chain a0 <- a1, chain b0 <- b1, and c0 alone: 4 MiB of data each.
    await makeLayer(store, k("a0"), null, 4);
    await makeLayer(store, k("a1"), k("a0"), 4);
    await makeLayer(store, k("b0"), null, 4);
    await makeLayer(store, k("b1"), k("b0"), 4);
    await makeLayer(store, k("c0"), null, 4);
    // Last used: a0 oldest, then c0, then b0, b1, a1 (a1 was used recently, a0 long ago: LRU order still takes a1 along).
    const used = { a0: 100, c0: 200, b0: 300, b1: 400, a1: 500 };
    for (const [name, t] of Object.entries(used)) utimesSync(join(store.dirOf(k(name)), "meta.json"), t, t);
    const before = await listLayers(store);
    const per = before.layers.find((l) => l.key === k("c0"))!.bytes;
    expect(per).toBeGreaterThan(4 * 1024 * 1024);

    // Room for three layers: a0 goes, and a1 with it (its disk needs a0).
    const first = await evict(store, before.totalBytes - 2 * per + 1024);
    expect(first.removed.map((l) => l.key)).toEqual([k("a1"), k("a0")]);
    expect(
      readdirSync(root)
        .filter((n) => /^[0-9a-f]{64}$/.test(n))
        .sort(),
    ).toEqual([k("b0"), k("b1"), k("c0")].sort());

    // c0 is pinned by a running build, b1 is locked by one (b0 goes only with b1): nothing can go.
    const pin = await pinLayers(store, [k("c0")]);
    const held = await tryLock(store.lockPathOf(k("b1")));
    const second = await evict(store, 0);
    expect(second.removed.map((l) => l.key)).toEqual([]);
    await pin.release();
    await held!.release();
    const third = await evict(store, 0);
    expect(third.removed.map((l) => l.key).sort()).toEqual([k("b0"), k("b1"), k("c0")].sort());
    // What the cache did not make stays, even in its directory.
    expect(existsSync(join(root, "notes"))).toBe(true);
  }, 30_000);
});
