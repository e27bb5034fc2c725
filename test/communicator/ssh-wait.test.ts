// waitForBanner against a stand-in for QEMU's user-mode port forward: it accepts every
// TCP connection, then closes it at once while "sshd" is not up (the guest refused it),
// or sends a banner after a delay once it is (the guest's sshd forked a child for it).
import net from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { waitForBanner } from "../../src/communicator/ssh-wait.js";

let server: net.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function forward(options: { upAfterMs: number; bannerAfterMs: number; dropFirstAccepted?: boolean }) {
  const t0 = Date.now();
  const stats = { refused: 0, accepted: 0 };
  const sockets: net.Socket[] = [];
  server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    if (Date.now() - t0 < options.upAfterMs) {
      stats.refused++;
      return void socket.destroy();
    }
    stats.accepted++;
    // A SYN the guest never answered: the connection stays open, silent.
    if (options.dropFirstAccepted && stats.accepted === 1) return;
    setTimeout(() => socket.writable && socket.write("SSH-2.0-OpenSSH_9.2p1 stand-in\r\n"), options.bannerAfterMs);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return {
    port: (server!.address() as net.AddressInfo).port,
    stats,
    t0,
    closeAll: () => sockets.forEach((s) => s.destroy()),
  };
}

describe("waitForBanner", () => {
  test("one probe at a time: once sshd answers, only the probe it accepted costs it a fork", async () => {
    const f = await forward({ upAfterMs: 400, bannerAfterMs: 300 });
    const socket = await waitForBanner("127.0.0.1", f.port, AbortSignal.timeout(5000));
    const first = await new Promise<Buffer>((resolve) => socket.once("data", resolve).resume());
    expect(first.toString()).toMatch(/^SSH-2\.0-/);
    expect(f.stats.accepted).toBe(1);
    expect(f.stats.refused).toBeGreaterThan(3); // kept probing, about every 50 ms, while refused
    socket.destroy();
    f.closeAll();
  });

  test("a probe that stalls (no banner, no close) gets one more beside it after 1 s", async () => {
    const f = await forward({ upAfterMs: 0, bannerAfterMs: 100, dropFirstAccepted: true });
    const socket = await waitForBanner("127.0.0.1", f.port, AbortSignal.timeout(5000));
    expect(Date.now() - f.t0).toBeGreaterThanOrEqual(1000);
    expect(f.stats.accepted).toBe(2);
    socket.destroy();
    f.closeAll();
  });

  test("rejects with the signal's reason", async () => {
    const f = await forward({ upAfterMs: 60_000, bannerAfterMs: 0 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("ssh_timeout")), 200);
    await expect(waitForBanner("127.0.0.1", f.port, controller.signal)).rejects.toThrow("ssh_timeout");
    f.closeAll();
  });
});
