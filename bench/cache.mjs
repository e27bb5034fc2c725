// The layer cache (issue 14): a cold tinyos build, then the same project rebuilt after an
// edit to provisioner.sh, side by side in one run, each step's time from the build's own
// summary line. Then the two ways back into a cached layer, each until SSH answers: booting
// the install layer's disk (tsimg's fallback), and loading the layer's memory (what the
// cached build did). Prints numbers; asserts nothing.
//   node bench/cache.mjs [--repeat N] [--no-boot-test]     (npm run bench:cache)
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, ISO, ROOT, median, requireSetup, runStamped, sec, tempDir } from "./lib.mjs";

const argv = process.argv.slice(2).join(" ");
const repeat = Number(/--repeat[= ](\d+)/.exec(argv)?.[1] ?? 1);
// --no-boot-test: both builds without the boot test (boot_test = false), whose boot of the
// artifact is the same fixed cost in both and came after the cache's 0.3x target was set.
const bootTest = !argv.includes("--no-boot-test");
requireSetup();
const { QmpClient } = await import(join(ROOT, "dist/qemu/qmp.js"));
const { SshSession } = await import(join(ROOT, "dist/communicator/ssh.js"));

/** A fresh copy of the tinyos example with its own layer cache. */
function project() {
  const dir = tempDir("cache");
  for (const sub of ["images", "kickstart", "resources"]) cpSync(join(ROOT, sub), join(dir, sub), { recursive: true });
  mkdirSync(join(dir, "iso"));
  cpSync(ISO, join(dir, "iso/tinyos.iso"), { dereference: true });
  cpSync(join(ROOT, "iso/SHA256SUMS"), join(dir, "iso/SHA256SUMS"));
  const template = join(dir, "images/tinyos.toml");
  const text = readFileSync(template, "utf8").replace(
    "[source]\n",
    `[source]\noutput_directory = "${join(dir, "output")}"\naccelerator = "tcg"\nheadless = true\nlayer_cache_dir = "${join(dir, "layers")}"\n${bootTest ? "" : "boot_test = false\n"}`,
  );
  writeFileSync(template, text);
  return { dir, template, script: join(dir, "images/tinyos/provisioner.sh"), layers: join(dir, "layers") };
}

/** Runs a build; its wall time and the per-step times from the summary line. */
async function timedBuild(template) {
  const t0 = Date.now();
  const run = runStamped(process.execPath, [CLI, "build", "--force", template]);
  const code = await run.done;
  const ms = Date.now() - t0;
  const text = run.lines.map((l) => l.text).join("\n");
  if (code !== 0) throw new Error(`build failed:\n${text.slice(-3000)}`);
  const steps = Object.fromEntries(
    [...(/steps: (.*)/.exec(text)?.[1] ?? "").matchAll(/([a-z-]+) ([\d.]+)(ms|s)/g)].map((m) => [
      m[1],
      Number(m[2]) * (m[3] === "s" ? 1000 : 1),
    ]),
  );
  return { ms, steps };
}

/** Starts QEMU on `disk` and measures until SSH answers. */
async function toSsh(disk) {
  const port = 22000 + Math.floor(Math.random() * 2000);
  const qmpPath = join(disk, "..", `bench-${port}.qmp`);
  const t0 = Date.now();
  const qemu = spawn(
    "qemu-system-x86_64",
    [
      ...["-machine", "type=pc,accel=tcg", "-m", "512M", "-smp", "1"],
      ...["-netdev", `user,id=user.0,hostfwd=tcp:127.0.0.1:${port}-:22`, "-device", "virtio-net,netdev=user.0"],
      ...["-drive", `file=${disk},if=virtio,cache=writeback,discard=ignore,format=qcow2`],
      ...["-drive", `file=${ISO},media=cdrom`, "-boot", "c", "-display", "none", "-serial", "null"],
      ...["-qmp", `unix:${qmpPath},server=on,wait=off`],
    ],
    { stdio: "ignore" },
  );
  try {
    while (!existsSync(qmpPath)) await new Promise((r) => setTimeout(r, 10));
    const qmp = await QmpClient.connect(qmpPath);
    const ssh = await SshSession.connect(
      { host: "127.0.0.1", port, username: "root", password: "tsimg-example", handshakeAttempts: 200 },
      AbortSignal.timeout(300_000),
      () => undefined,
    );
    const ms = Date.now() - t0;
    ssh.close();
    qmp.close();
    return ms;
  } finally {
    qemu.kill("SIGKILL");
  }
}

const rows = [];
for (let i = 0; i < repeat; i++) {
  const p = project();
  const cold = await timedBuild(p.template);
  writeFileSync(p.script, readFileSync(p.script, "utf8") + "echo edited > /etc/tsimg-edit\n");
  const cached = await timedBuild(p.template);
  // The install layer: the one with no parent.
  const install = readdirSync(p.layers)
    .filter((n) => !n.startsWith(".") && !n.endsWith(".lock"))
    .find((n) => JSON.parse(readFileSync(join(p.layers, n, "meta.json"), "utf8")).parent === null);
  const layerDir = join(p.layers, install);
  const overlay = (name) => {
    const path = join(p.dir, name);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", join(layerDir, "disk.qcow2"), "-F", "qcow2", path]);
    return path;
  };
  const boot = await toSsh(overlay("boot.qcow2"));
  rows.push({ cold, cached, boot });
}

const step = (name, which) => median(rows.map((r) => r[which].steps[name] ?? 0));
const names = [...new Set(rows.flatMap((r) => [...Object.keys(r.cold.steps), ...Object.keys(r.cached.steps)]))];
console.log(`tinyos, TCG, ${repeat} run(s), medians${bootTest ? "" : ", boot_test = false in both builds"}\n`);
console.log("step                 cold     cached (provisioner.sh edited)");
for (const name of names) console.log(`${name.padEnd(18)} ${sec(step(name, "cold"))}  ${sec(step(name, "cached"))}`);
const cold = median(rows.map((r) => r.cold.ms));
const cached = median(rows.map((r) => r.cached.ms));
console.log(`${"whole build".padEnd(18)} ${sec(cold)}  ${sec(cached)}   ratio ${(cached / cold).toFixed(2)}x`);
console.log(`\nback into the install layer, from QEMU's start until SSH answers:`);
console.log(`  boot its disk       ${sec(median(rows.map((r) => r.boot)))}`);
const restore = median(rows.map((r) => (r.cached.steps["start-qemu"] ?? 0) + (r.cached.steps["wait-ssh"] ?? 0)));
console.log(`  load its memory     ${sec(restore)}   (what tsimg does: the cached build's start-qemu + wait-ssh)`);
