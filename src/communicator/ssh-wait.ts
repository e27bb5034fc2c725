// Waiting for the guest's sshd. With QEMU user networking the forwarded port accepts
// TCP at once even when nothing listens in the guest, so only the server's "SSH-"
// banner proves sshd is up. Probes are staggered (a new one every PROBE_EVERY_MS while
// older ones still wait), so a probe stuck on a guest that has no network yet never
// delays noticing the sshd that just started. Packer retries on a 5-7 s grid instead.
import net from "node:net";

const PROBE_EVERY_MS = 150;
const BANNER_LIMIT_MS = 3000;
const MAX_PENDING = 8;

/**
 * Resolves with a connected socket whose first bytes (pushed back, unread) are an SSH
 * banner. Rejects only when the signal fires.
 */
export function waitForBanner(host: string, port: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const pending = new Set<net.Socket>();
    let done = false;
    let timer: NodeJS.Timeout | undefined;

    const finish = (error?: Error, winner?: net.Socket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      for (const socket of pending) if (socket !== winner) socket.destroy();
      if (winner) resolve(winner);
      else reject(error);
    };
    const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error("cancelled"));
    signal.addEventListener("abort", onAbort, { once: true });

    const probe = () => {
      if (done) return;
      if (pending.size < MAX_PENDING) pending.add(startProbe());
      timer = setTimeout(probe, PROBE_EVERY_MS);
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
      });
      return socket;
    };
    if (signal.aborted) onAbort();
    else probe();
  });
}
