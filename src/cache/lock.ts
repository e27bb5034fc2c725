// A lock per cache key, shared by every tsimg process on this host: a directory made with
// mkdir (atomic), holding the owner's pid and the start time of that process. A lock whose
// owner is gone (killed with -9, host rebooted) is stale and may be taken over, so a dead
// build never blocks the cache.
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "../core/abort.js";

export interface Owner {
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): a reused pid differs. */
  started: string;
}

/** This process, as a lock's owner file records it. */
export function thisProcess(): Owner {
  return { pid: process.pid, started: startTimeOf(process.pid) ?? "" };
}

/** Whether the process an owner file names still runs (the same process, not a reused pid). */
export function isAlive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const started = startTimeOf(owner.pid);
  return started === undefined || owner.started === "" || started === owner.started;
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** A held lock; release() is idempotent. */
export interface HeldLock {
  release(): Promise<void>;
}

/** Takes the lock at `path` if it is free or stale; undefined when a live process holds it. */
export async function tryLock(path: string): Promise<HeldLock | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await mkdir(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = await readOwner(path);
      // An owner file not written yet: the taker is between mkdir and writeFile, alive.
      if (owner === "unwritten" || (owner && isAlive(owner))) return undefined;
      await rm(path, { recursive: true, force: true });
      continue;
    }
    await writeFile(join(path, "owner.json"), JSON.stringify(thisProcess()));
    let held = true;
    return {
      release: async () => {
        if (!held) return;
        held = false;
        await rm(path, { recursive: true, force: true });
      },
    };
  }
  return undefined;
}

/** Waits for the lock (polling); `onWait` is told once that another build holds it. */
export async function lock(path: string, signal: AbortSignal, onWait?: (owner: Owner) => void): Promise<HeldLock> {
  let told = false;
  for (;;) {
    const held = await tryLock(path);
    if (held) return held;
    if (!told) {
      told = true;
      const owner = await readOwner(path);
      if (owner && owner !== "unwritten") onWait?.(owner);
    }
    await sleep(250, signal);
  }
}

/** The lock's owner, "unwritten" for a fresh lock whose owner file is not there yet, undefined for garbage. */
async function readOwner(path: string): Promise<Owner | "unwritten" | undefined> {
  let text: string;
  try {
    text = await readFile(join(path, "owner.json"), "utf8");
  } catch {
    // A lock directory older than a few seconds without an owner file was left by a killed process.
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => Infinity,
    );
    return age < 5000 ? "unwritten" : undefined;
  }
  try {
    return JSON.parse(text) as Owner;
  } catch {
    return undefined;
  }
}

/** Whether a live process holds the lock at `path`. */
export async function isLocked(path: string): Promise<boolean> {
  const owner = await readOwner(path);
  return owner === "unwritten" || (owner !== undefined && isAlive(owner));
}
