// Supervises one QEMU process: spawned in its own process group, tied to tsimg's life
// with PR_SET_PDEATHSIG (setpriv), with its exit noticed at once and its stderr kept.
// When tsimg exits in any way Node sees (normal end, process.exit, an uncaught error),
// every QEMU still running is killed; kill -9 is covered by pdeathsig.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { QemuError } from "../core/errors.js";
import { TailBuffer } from "../core/tail-buffer.js";

export interface QemuExit {
  code: number | null;
  signal: string | null;
}

export interface StartQemuOptions {
  binary: string;
  args: string[];
  /** Called with each line QEMU prints on stderr/stdout. */
  onOutput?: (line: string) => void;
}

/** A running QEMU. `exited` resolves (never rejects) when the process is gone. */
export interface QemuProcess {
  pid: number;
  exited: Promise<QemuExit>;
  readonly exit: QemuExit | undefined;
  /** Last lines QEMU printed (stderr and stdout). */
  stderrTail(): string[];
  /** SIGKILLs QEMU's whole process group and waits for it to be gone. */
  kill(): Promise<QemuExit>;
}

const SETPRIV = "/usr/bin/setpriv";

/** Process groups of QEMUs still running, killed if tsimg exits before they do. */
const running = new Set<number>();
let exitHookInstalled = false;

function killOnExit(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const group of running) {
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/** Starts QEMU. It dies with tsimg even on kill -9 (pdeathsig), and never gets the terminal's Ctrl-C directly. */
export function startQemu(options: StartQemuOptions): QemuProcess {
  const tail = new TailBuffer(40);
  // setpriv sets PR_SET_PDEATHSIG then execs QEMU, so the kernel SIGKILLs QEMU when we die.
  const [file, args] = existsSync(SETPRIV)
    ? [SETPRIV, ["--pdeathsig", "SIGKILL", "--", options.binary, ...options.args]]
    : [options.binary, options.args];
  let child: ChildProcess;
  try {
    // detached: its own process group, so the terminal's Ctrl-C reaches tsimg, not QEMU.
    child = spawn(file, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw new QemuError(`cannot start ${options.binary}: ${(error as Error).message}`, { cause: error });
  }
  if (child.pid !== undefined) killOnExit(child.pid);
  const onLine = (line: string) => {
    tail.push(line);
    options.onOutput?.(line);
  };
  readLines(child.stderr, onLine);
  readLines(child.stdout, onLine);

  let exit: QemuExit | undefined;
  const exited = new Promise<QemuExit>((resolve) => {
    child.on("exit", (code, signal) => {
      if (child.pid !== undefined) running.delete(child.pid);
      exit = { code, signal };
      resolve(exit);
    });
    child.on("error", (error) => {
      tail.push(error.message);
      // It never started (no such program): there will be no "exit".
      if (child.pid === undefined && !exit) {
        exit = { code: null, signal: null };
        resolve(exit);
      }
    });
  });

  return {
    pid: child.pid ?? -1,
    exited,
    get exit() {
      return exit;
    },
    stderrTail: () => tail.lines(),
    kill: async () => {
      if (!exit && child.pid) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }
      return exited;
    },
  };
}

function readLines(stream: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (partial + chunk).split(/\r?\n/);
    partial = parts.pop() ?? "";
    for (const part of parts) if (part.trim()) onLine(part);
  });
  stream.on("end", () => {
    if (partial.trim()) onLine(partial);
  });
}

/** "exited with code 1" / "was killed by SIGKILL". */
export function describeExit(exit: QemuExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
