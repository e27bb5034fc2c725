// Runs a short-lived program (qemu-img, xorriso, git, the KVM probe) and collects its output.
// node:child_process.execFile does all the work. execa did it before, but loading execa took
// ~110 ms of every build's start-up, before QEMU could start; execFile is already loaded.
import { execFile } from "node:child_process";

export interface ProgramResult {
  /** Exit code; null when the program was killed or never started. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** It exited 0. */
  ok: boolean;
  /** The program could not be started at all (not installed: `errorCode` is "ENOENT"). */
  notStarted: boolean;
  errorCode?: string;
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** Killed because the signal fired. */
  cancelled: boolean;
  /** One line for a message: what went wrong when !ok. */
  problem: string;
}

export interface RunProgramOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** How a timed-out or cancelled program is stopped; default SIGTERM. */
  killSignal?: NodeJS.Signals;
}

/** Runs `file args` with stdin closed; never rejects: the result says what happened. */
export function runProgram(
  file: string,
  args: readonly string[],
  options: RunProgramOptions = {},
): Promise<ProgramResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        killSignal: options.killSignal ?? "SIGTERM",
        ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (error, stdout, stderr) => {
        const failure = error as
          (NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string }) | null;
        const cancelled = options.signal?.aborted === true && failure !== null;
        const notStarted = typeof failure?.code === "string" && child.pid === undefined;
        const timedOut =
          failure !== null && !cancelled && !notStarted && failure.killed === true && options.timeoutMs !== undefined;
        const exitCode = failure === null ? 0 : typeof failure.code === "number" ? failure.code : null;
        const problem =
          failure === null
            ? ""
            : describeFailure(file, {
                notStarted,
                cancelled,
                timedOut,
                exitCode,
                message: failure.message,
                signal: failure.signal,
                timeoutMs: options.timeoutMs,
              });
        resolve({
          exitCode,
          stdout,
          stderr,
          ok: failure === null,
          notStarted,
          ...(typeof failure?.code === "string" ? { errorCode: failure.code } : {}),
          timedOut,
          cancelled,
          problem,
        });
      },
    );
    child.stdin?.end();
  });
}

/** One line saying why a program did not succeed. */
function describeFailure(
  file: string,
  f: {
    notStarted: boolean;
    cancelled: boolean;
    timedOut: boolean;
    exitCode: number | null;
    message: string;
    signal: string | undefined;
    timeoutMs: number | undefined;
  },
): string {
  if (f.notStarted) return `cannot run ${file}: ${f.message}`;
  if (f.cancelled) return `${file} was cancelled`;
  if (f.timedOut) return `${file} did not finish within ${(f.timeoutMs ?? 0) / 1000} s`;
  if (f.exitCode !== null) return `${file} exited with code ${f.exitCode}`;
  return `${file} was killed by ${f.signal ?? "a signal"}`;
}
