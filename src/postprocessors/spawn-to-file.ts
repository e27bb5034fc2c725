// Runs a compressor whose stdout is the output file itself (the descriptor is handed to the
// child, so no byte passes through a pipe), and hashes the output while it is being written
// (hash-follower.ts), so when the compressor exits only the last few MiB are left to hash.
// Measured on 1 GiB (2 cores): piping zstd's stdout through Node cost ~0.3 s more system time
// than zstd writing the file (pipe buffers of 64 KiB, a context switch each), and hashing
// the finished file afterwards added the whole hash time (0.71x of `zstd -T0` on 2 GiB).
// The process is killed when the signal fires.
import { spawn } from "node:child_process";
import { open, readFile, readdir, readlink, rm, stat } from "node:fs/promises";
import { CancelledError, TsimgError } from "../core/errors.js";
import { TailBuffer } from "../core/tail-buffer.js";
import { followAndHash } from "./hash-follower.js";

export interface SpawnToFileResult {
  bytes: number;
  sha256: string;
}

export interface SpawnToFileOptions {
  signal: AbortSignal;
  /** Called about once a second with the bytes written and, when known, the bytes of `inputPath` read. */
  onProgress?: (written: number, read: number | undefined) => void;
  /** A file the process reads by path: its read position is the progress (Linux /proc). */
  inputPath?: string;
  /**
   * argv names `outPath` itself (`zstd ... -o <outPath>`): the program creates and writes the
   * file, stdout is unused. zstd measured faster writing a file it opened than writing stdout.
   */
  writesOutput?: boolean;
}

/** Runs argv with stdout into `outPath`; rejects with the program's stderr when it fails. */
export async function spawnToFile(
  argv: string[],
  outPath: string,
  options: SpawnToFileOptions,
): Promise<SpawnToFileResult> {
  if (options.signal.aborted) throw new CancelledError();
  const [command, ...args] = argv as [string, ...string[]];
  // A stale file of an earlier run must not be followed instead of the one the program makes.
  if (options.writesOutput) await rm(outPath, { force: true });
  const out = options.writesOutput ? undefined : await open(outPath, "w");
  let started;
  try {
    started = startWatched(command, args, out?.fd ?? "ignore");
  } finally {
    // The child has its own copy of the descriptor now.
    await out?.close();
  }
  const { child, stderr, exited } = started;
  const follower = followAndHash(outPath);
  const onAbort = () => child.kill("SIGTERM");
  options.signal.addEventListener("abort", onAbort, { once: true });
  // A cancel during the awaits above had no listener yet.
  if (options.signal.aborted) onAbort();
  const report = async () => {
    const written = await stat(outPath).then(
      (s) => s.size,
      () => 0,
    );
    options.onProgress?.(written, options.inputPath ? await readPosition(child.pid, options.inputPath) : undefined);
  };
  const timer = options.onProgress ? setInterval(() => void report(), 1000) : undefined;
  try {
    const status = await exited.then(
      (value) => ({ ok: true as const, value }),
      (reason: unknown) => ({ ok: false as const, reason }),
    );
    if (options.signal.aborted) throw new CancelledError();
    if (!status.ok) throw new TsimgError(`${command} could not start: ${errorText(status.reason)}`);
    const { code, sig } = status.value;
    if (code !== 0) {
      throw new TsimgError(
        `${command} failed (${sig ? `killed by ${sig}` : `exit code ${code}`})${stderr.lines().length ? `: ${stderr.lines().join(" / ")}` : ""}`,
      );
    }
    const hashed = await follower.finish().catch((reason: unknown) => {
      throw new TsimgError(`hashing ${outPath} failed: ${errorText(reason)}`);
    });
    const size = (await stat(outPath)).size;
    if (hashed.bytes !== size)
      throw new TsimgError(`hashing ${outPath}: read ${hashed.bytes} bytes, the file has ${size}`);
    return hashed;
  } finally {
    if (timer) clearInterval(timer);
    options.signal.removeEventListener("abort", onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    // Let the follower close its descriptor before the caller removes a failed output.
    await follower.stop();
  }
}

/**
 * Spawns with stdout on `stdout` and listens for the child's end at once: a program that
 * fails fast (zstd on a missing input) can be gone before the caller's next await returns,
 * and a `close` emitted with no listener is lost for good (the build then hung forever).
 */
function startWatched(command: string, args: string[], stdout: number | "ignore") {
  const child = spawn(command, args, { stdio: ["ignore", stdout, "pipe"] });
  const stderr = new TailBuffer(20);
  child.stderr!.setEncoding("utf8").on("data", (text: string) => text.split("\n").forEach((l) => l && stderr.push(l)));
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, sig) => resolve({ code, sig }));
  });
  // Rejections are read later, after the follower starts; none must count as unhandled.
  exited.catch(() => undefined);
  return { child, stderr, exited };
}

/** The read offset of the process's descriptor open on `path`, from /proc; undefined when unknown. */
async function readPosition(pid: number | undefined, path: string): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")) !== path) continue;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, "utf8");
      const match = /^pos:\s*(\d+)/m.exec(info);
      return match ? Number(match[1]) : undefined;
    }
  } catch {
    // Not Linux, or the process is gone: progress shows output bytes only.
  }
  return undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
