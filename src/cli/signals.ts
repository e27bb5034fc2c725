// How a long-running command (serve, worker) waits for SIGINT/SIGTERM. process.on, never
// once: execa (through signal-exit) listens for these signals while one of its child
// processes runs (serve's git, a worker's tar), and when it finds only its own listeners
// left it re-raises the signal, which kills the process in the middle of its shutdown.
// With our listener kept, it never finds that.

/** Resolves with the first SIGINT or SIGTERM; each later one calls onRepeat. */
export function untilSignal(onRepeat: (signal: NodeJS.Signals) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (first === undefined) resolve((first = signal));
      else onRepeat(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** The exit code of a command stopped by a signal. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === "SIGINT" ? 130 : 143;
}
