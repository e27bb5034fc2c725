// Runs a compressor whose stdout is the output: the bytes go through a sha256 on their
// way to the (partial) file, so the compressed file is never read twice. The process is
// killed when the signal fires.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { readFile, readdir, readlink } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CancelledError, TsimgError } from "../errors.js";
import { TailBuffer } from "../util/tail-buffer.js";

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
}

/** Runs argv with stdout into `outPath`; rejects with the program's stderr when it fails. */
export async function spawnToFile(argv: string[], outPath: string, options: SpawnToFileOptions): Promise<SpawnToFileResult> {
  if (options.signal.aborted) throw new CancelledError();
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const stderr = new TailBuffer(20);
  child.stderr.setEncoding("utf8").on("data", (text: string) => text.split("\n").forEach((l) => l && stderr.push(l)));
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, sig) => resolve({ code, sig }));
  });
  const onAbort = () => child.kill("SIGTERM");
  options.signal.addEventListener("abort", onAbort, { once: true });

  const hash = createHash("sha256");
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const timer = options.onProgress ? setInterval(() => void report(), 1000) : undefined;
  const report = async () => options.onProgress?.(bytes, options.inputPath ? await readPosition(child.pid, options.inputPath) : undefined);
  try {
    const [written, status] = await Promise.allSettled([pipeline(child.stdout, tap, createWriteStream(outPath)), exited]);
    if (options.signal.aborted) throw new CancelledError();
    if (status.status === "rejected") throw new TsimgError(`${command} could not start: ${errorText(status.reason)}`);
    const { code, sig } = status.value;
    if (code !== 0) {
      throw new TsimgError(`${command} failed (${sig ? `killed by ${sig}` : `exit code ${code}`})${stderr.lines().length ? `: ${stderr.lines().join(" / ")}` : ""}`);
    }
    if (written.status === "rejected") throw new TsimgError(`writing ${outPath}: ${errorText(written.reason)}`);
    return { bytes, sha256: hash.digest("hex") };
  } finally {
    if (timer) clearInterval(timer);
    options.signal.removeEventListener("abort", onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
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
