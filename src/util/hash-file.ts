// Hashing files: every requested digest in one streamed read.
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";
import { CancelledError } from "../core/errors.js";

/** Read size: large reads keep the hash, not the syscalls, the bottleneck. */
const CHUNK = 4 * 1024 * 1024;

/** Hashes `path` with every type (md5, sha1, sha256, sha512) in one read; returns type -> lowercase hex. */
export async function hashFile(
  path: string,
  types: readonly string[],
  options: { signal?: AbortSignal; progress?: { add(bytes: number): void } } = {},
): Promise<Record<string, string>> {
  const hashes = new Map<string, Hash>(types.map((t) => [t, createHash(t)]));
  // Two buffers, reused: the next read runs while the last one is hashed, and a large file
  // allocates nothing (a new 4 MiB buffer per read raised a build's peak RSS by ~27 MiB
  // while it hashed a 56 MB ISO, garbage the collector had not reached yet).
  const file = await open(path, "r");
  try {
    const size = Math.max(1, Math.min(CHUNK, (await file.stat()).size));
    let [current, next] = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    let position = 0;
    let reading = file.read(current, 0, size, position);
    for (;;) {
      const { bytesRead } = await reading;
      if (options.signal?.aborted) throw new CancelledError();
      if (bytesRead === 0) break;
      position += bytesRead;
      const chunk = current.subarray(0, bytesRead);
      [current, next] = [next, current];
      reading = file.read(current, 0, size, position);
      for (const hash of hashes.values()) hash.update(chunk);
      options.progress?.add(bytesRead);
    }
    // A read still in flight must end before the descriptor closes.
    await reading.catch(() => undefined);
  } finally {
    await file.close();
  }
  return Object.fromEntries([...hashes].map(([t, h]) => [t, h.digest("hex")]));
}

/** Hex sha256 of a file, streamed. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  return (await hashFile(path, ["sha256"], signal ? { signal } : {})).sha256 as string;
}
