// Waiting for the guest's sshd. With QEMU user networking the forwarded port accepts
// TCP at once even when nothing listens in the guest: a probe that the guest refuses is
// closed again within milliseconds, so only the server's "SSH-" banner proves sshd is up.
//
// One probe at a time, a new one PROBE_EVERY_MS after the last was refused. Every probe
// the guest accepts costs it a fork and re-exec of sshd (about 0.25 s of guest CPU under
// TCG before the banner), so overlapping probes made sshd serve three children at once
// and tripled the time to log in (measured: 1.5 s p50 with three overlapping probes,
// against 0.4 s for one login on an idle guest). A probe that neither closes nor shows a
// banner within STALLED_AFTER_MS (1 s: a loaded guest can take 0.5 s to answer) may be
// stuck (a guest whose network is not up yet drops the SYN, and QEMU retries it on its own
// schedule), so then one more probe may run beside it; a probe is dropped after
// BANNER_LIMIT_MS. Packer retries on a 5-7 s grid.
import net from "node:net";

const PROBE_EVERY_MS = 50;
const STALLED_AFTER_MS = 1000;
const BANNER_LIMIT_MS = 2000;
const MAX_PENDING = 2;

/**
 * Resolves with a connected socket whose first bytes (pushed back, unread) are an SSH
 * banner. Rejects only when the signal fires.
 */
export function waitForBanner(host: string, port: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    /** Open probes and when each started. */
    const pending = new Map<net.Socket, number>();
    let done = false;
    let lastStart = 0;
    /** The next probe: PROBE_EVERY_MS after the last refused one, or beside one that stalled. */
    let next: NodeJS.Timeout | undefined;

    const finish = (error?: Error, winner?: net.Socket) => {
      if (done) return;
      done = true;
      clearTimeout(next);
      signal.removeEventListener("abort", onAbort);
      for (const socket of pending.keys()) if (socket !== winner) socket.destroy();
      if (winner) resolve(winner);
      else reject(error);
    };
    const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error("cancelled"));
    signal.addEventListener("abort", onAbort, { once: true });

    const schedule = (delay: number) => {
      clearTimeout(next);
      if (!done) next = setTimeout(probe, Math.max(0, delay));
    };
    const probe = () => {
      if (done || pending.size >= MAX_PENDING) return;
      lastStart = Date.now();
      pending.set(startProbe(), lastStart);
      // If this one neither answers nor closes, another may run beside it.
      schedule(STALLED_AFTER_MS);
    };

    const startProbe = (): net.Socket => {
      const socket = net.connect({ host, port });
      const giveUp = setTimeout(() => socket.destroy(), BANNER_LIMIT_MS);
      socket.once("data", (chunk: Buffer) => {
        clearTimeout(giveUp);
        socket.pause();
        socket.unshift(chunk);
        pending.delete(socket);
        if (chunk.subarray(0, 4).toString("latin1") === "SSH-" && !done) finish(undefined, socket);
        else socket.destroy();
      });
      socket.on("error", () => undefined);
      socket.once("close", () => {
        clearTimeout(giveUp);
        pending.delete(socket);
        // Refused (or given up on): unless a fresh probe is still waiting, try again
        // PROBE_EVERY_MS after the last one started.
        const now = Date.now();
        if (![...pending.values()].some((started) => now - started < STALLED_AFTER_MS))
          schedule(lastStart + PROBE_EVERY_MS - now);
      });
      return socket;
    };
    if (signal.aborted) onAbort();
    else probe();
  });
}
