// Micro-benchmark 2: how long after the guest's "sshd listening" marker tsimg's
// communicator is logged in, over N boots of the built tinyos image (TCG). A second
// login on the already-listening sshd measures what the handshake alone costs the guest
// (fork, re-exec, key exchange and password check under TCG), which no tool can avoid.
//   node bench/ssh-detect.mjs [boots=10]
import { spawn } from "node:child_process";
import { join } from "node:path";
import { SshSession } from "../dist/communicator/ssh.js";
import { findFreePort } from "../dist/net/ports.js";
import { CLI, ROOT, followFile, median, percentile, requireSetup, runStamped, sec, tempDir } from "./lib.mjs";

const boots = Number(process.argv[2] ?? 10);
const login = (port) => ({
  host: "127.0.0.1",
  port,
  username: "root",
  password: "tsimg-example",
  handshakeAttempts: 3,
});

requireSetup();
const dir = tempDir("ssh");
console.log("building the tinyos image once...");
const buildRun = runStamped("node", [CLI, "build", join(ROOT, "images/tinyos.toml")], { cwd: dir });
if ((await buildRun.done) !== 0)
  throw new Error(
    buildRun.lines
      .slice(-10)
      .map((l) => l.text)
      .join("\n"),
  );
const disk = join(dir, "output-tinyos/tinyos.qcow2");

const detect = [];
const handshake = [];
for (let i = 1; i <= boots; i++) {
  const port = await findFreePort(20000, 30000, "127.0.0.1", "bench");
  const serial = join(dir, `boot-${i}.serial`);
  const qemu = spawn(
    "qemu-system-x86_64",
    [
      "-accel",
      "tcg",
      "-m",
      "512",
      "-display",
      "none",
      "-name",
      `bench-ssh-${process.pid}`,
      "-drive",
      `file=${disk},if=virtio,format=qcow2,snapshot=on`,
      "-device",
      "virtio-net,netdev=n0",
      "-netdev",
      `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
      "-serial",
      `file:${serial}`,
    ],
    { stdio: "ignore" },
  );
  const follow = followFile(serial);
  const marker = follow.waitFor(/TSIMG-MARK sshd-listening/, 120_000);
  const ssh = await SshSession.connect(login(port), AbortSignal.timeout(120_000));
  const connected = Date.now();
  const listening = (await marker).t;
  const t0 = Date.now();
  const again = await SshSession.connect(login(port), AbortSignal.timeout(60_000));
  const second = Date.now() - t0;
  again.close();
  ssh.close();
  qemu.kill("SIGKILL");
  follow.stop();
  detect.push(connected - listening);
  handshake.push(second);
  console.log(
    `boot ${String(i).padStart(2)}: sshd listening -> logged in ${sec(connected - listening)}   (a login on the listening sshd: ${sec(second)})`,
  );
}
console.log(
  `\nsshd listening -> logged in: p50 ${sec(median(detect))}, p95 ${sec(percentile(detect, 95))}, min ${sec(Math.min(...detect))}, max ${sec(Math.max(...detect))}`,
);
console.log(
  `login alone on a listening sshd (guest handshake cost): p50 ${sec(median(handshake))}, p95 ${sec(percentile(handshake, 95))}`,
);
const waiting = detect.map((d, i) => Math.max(0, d - handshake[i]));
console.log(
  `time tsimg adds on top of the handshake: p50 ${sec(median(waiting))}, p95 ${sec(percentile(waiting, 95))}`,
);
