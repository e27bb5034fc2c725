// Runs a compressor whose stdout is the output file itself (the descriptor is handed to
// the child, so no byte passes through Node), then hashes the output once. Measured:
// piping stdout through Node cost more than hashing the finished file from the page cache.
// The process is killed when the signal fires.
import { spawn } from "node:child_process";
import { open, readFile, readdir, readlink, stat } from "node:fs/promises";
import { CancelledError, TsimgError } from "../errors.js";
import { TailBuffer } from "../util/tail-buffer.js";
import { hashFile } from "./checksum.js";

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
  const out = await open(outPath, "w");
  let child;
  try {
    child = spawn(command, args, { stdio: ["ignore", out.fd, "pipe"] });
  } finally {
    // The child has its own copy of the descriptor now.
    await out.close();
  }
  const stderr = new TailBuffer(20);
  child.stderr!.setEncoding("utf8").on("data", (text: string) => text.split("\n").forEach((l) => l && stderr.push(l)));
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, sig) => resolve({ code, sig }));
  });
  const onAbort = () => child.kill("SIGTERM");
  options.signal.addEventListener("abort", onAbort, { once: true });
  const report = async () => {
    const written = await stat(outPath).then((s) => s.size, () => 0);
    options.onProgress?.(written, options.inputPath ? await readPosition(child.pid, options.inputPath) : undefined);
  };
  const timer = options.onProgress ? setInterval(() => void report(), 1000) : undefined;
  try {
    const status = await exited.then((value) => ({ ok: true as const, value }), (reason: unknown) => ({ ok: false as const, reason }));
    if (options.signal.aborted) throw new CancelledError();
    if (!status.ok) throw new TsimgError(`${command} could not start: ${errorText(status.reason)}`);
    const { code, sig } = status.value;
    if (code !== 0) {
      throw new TsimgError(`${command} failed (${sig ? `killed by ${sig}` : `exit code ${code}`})${stderr.lines().length ? `: ${stderr.lines().join(" / ")}` : ""}`);
    }
  } finally {
    if (timer) clearInterval(timer);
    options.signal.removeEventListener("abort", onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  const sha256 = (await hashFile(outPath, ["sha256"], { signal: options.signal })).sha256 as string;
  return { bytes: (await stat(outPath)).size, sha256 };
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
