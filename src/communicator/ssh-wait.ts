// Waiting for the guest's sshd. With QEMU user networking the forwarded port accepts
// TCP at once even when nothing listens in the guest, so only the server's "SSH-"
// banner proves sshd is up. While the guest has no network stack a probe just hangs
// (QEMU keeps retrying the guest), so probes overlap: a new one starts every
// PROBE_EVERY_MS while fewer than MAX_PENDING wait, and a hung one is dropped after
// BANNER_LIMIT_MS. Few probes, because every probe still open when sshd starts
// becomes a connection sshd must fork for (and sshd drops connections beyond its
// MaxStartups of 10). Packer retries on a 5-7 s grid instead.
import net from "node:net";

const PROBE_EVERY_MS = 100;
const BANNER_LIMIT_MS = 2000;
const MAX_PENDING = 3;

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
