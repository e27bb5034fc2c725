// Hashing files: every requested digest in one streamed read.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";

/** Read size: large reads keep the hash, not the syscalls, the bottleneck. */
const CHUNK = 4 * 1024 * 1024;

/** Hashes `path` with every type (md5, sha1, sha256, sha512) in one read; returns type -> lowercase hex. */
export async function hashFile(
  path: string,
  types: readonly string[],
  options: { signal?: AbortSignal; progress?: { add(bytes: number): void } } = {},
): Promise<Record<string, string>> {
  const hashes = new Map<string, Hash>(types.map((t) => [t, createHash(t)]));
  const stream = createReadStream(path, { highWaterMark: CHUNK, ...(options.signal ? { signal: options.signal } : {}) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    for (const hash of hashes.values()) hash.update(chunk);
    options.progress?.add(chunk.length);
  }
  return Object.fromEntries([...hashes].map(([t, h]) => [t, h.digest("hex")]));
}

/** Hex sha256 of a file, streamed. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  return (await hashFile(path, ["sha256"], signal ? { signal } : {})).sha256 as string;
}
