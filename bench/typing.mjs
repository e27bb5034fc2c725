// Micro-benchmark 1: type the Rocky 9 boot command (from images/rocky9.toml) into the
// tinyos installer's isolinux menu, with tsimg (QMP) and with Packer 1.6.6 (VNC). The
// guest echoes what it received: the kernel prints its command line on the serial
// console, and it must end with exactly the typed text. Prints time taken per tool.
//   node bench/typing.mjs [runs=3] [--interval=MS] [--no-packer]
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadTemplate } from "../dist/index.js";
import { parseBootCommand, describeBootCommand } from "../dist/qemu/boot-command.js";
import { QmpClient } from "../dist/qemu/qmp.js";
import { typeActions } from "../dist/qemu/type-keys.js";
import { ISO, ROOT, ensurePacker, followFile, median, requireSetup, runStamped, sec, tempDir } from "./lib.mjs";

const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const intervalArg = args.find((a) => a.startsWith("--interval="));
const withPacker = !args.includes("--no-packer");
const plan = loadTemplate(join(ROOT, "images/rocky9.toml"));
const interval = intervalArg ? Number(intervalArg.split("=")[1]) : plan.source.boot_key_interval;
const command = plan.source.boot_command.join("").replace("{{ .HTTPIP }}", "10.0.2.2").replace("{{ .HTTPPort }}", "8123");
// What the kernel line gains: everything typed after <tab>, up to <enter>, trimmed.
const expected = command.replace(/^<tab>/, "").replace(/<enter>.*$/, "").trim();
const keys = describeBootCommand(parseBootCommand(command)).keys;

/** Boots the ISO under TCG with a QMP socket; resolves when the isolinux menu is on the serial console. */
async function bootMenu(dir) {
  const serial = join(dir, "serial.log");
  const qmpPath = join(dir, "qmp.sock");
  const qemu = spawn("qemu-system-x86_64", ["-accel", "tcg", "-m", "512", "-display", "none", "-name", "bench-typing",
    "-drive", `file=${ISO},media=cdrom`, "-boot", "d", "-serial", `file:${serial}`, "-qmp", `unix:${qmpPath},server=on,wait=off`], { stdio: "ignore" });
  const follow = followFile(serial);
  await follow.waitFor(/tinyos installer/, 60_000);
  await new Promise((r) => setTimeout(r, 500)); // let the menu finish drawing
  return { qemu, follow, qmpPath };
}

async function tsimgRun() {
  const dir = tempDir("typing");
  const { qemu, follow, qmpPath } = await bootMenu(dir);
  const qmp = await QmpClient.connect(qmpPath);
  const t0 = Date.now();
  await typeActions(qmp, parseBootCommand(command), { intervalMs: interval, signal: new AbortController().signal });
  const ms = Date.now() - t0;
  const line = await follow.waitFor(/Command line:/, 60_000);
  qmp.close();
  qemu.kill("SIGKILL");
  follow.stop();
  return { ms, received: line.text };
}

async function packerRun() {
  const dir = tempDir("typing-packer");
  const template = {
    builders: [{
      type: "qemu", iso_url: ISO, iso_checksum: "none", accelerator: "tcg", headless: true, communicator: "none",
      output_directory: join(dir, "out"), vm_name: "bench-typing-packer", disk_size: "64M", boot_wait: "5s",
      boot_command: [command.replace("10.0.2.2:8123", "{{ .HTTPIP }}:{{ .HTTPPort }}")], http_directory: dir,
      http_port_min: 8123, http_port_max: 8123, shutdown_timeout: "5m",
      qemuargs: [["-serial", `file:${join(dir, "serial.log")}`], ["-m", "512"]],
    }],
  };
  writeFileSync(join(dir, "t.json"), JSON.stringify(template, null, 2));
  const follow = followFile(join(dir, "serial.log"));
  const run = runStamped("packer", ["build", "-color=false", join(dir, "t.json")], { cwd: dir });
  const line = await follow.waitFor(/Command line:/, 180_000);
  const typing = run.lines.find((l) => /Typing the boot command/.test(l.text));
  const after = typing && run.lines.find((l) => l.t >= typing.t && l !== typing && /==> qemu:/.test(l.text));
  // The guest has the whole line once the kernel prints it: an upper bound if Packer prints nothing after typing.
  const end = after?.t ?? line.t;
  run.interrupt("SIGINT");
  const killer = setTimeout(() => run.interrupt("SIGKILL"), 10_000);
  await run.done;
  clearTimeout(killer);
  follow.stop();
  return { ms: typing ? end - typing.t : NaN, received: line.text };
}

function check(received) {
  const got = received.replace(/^.*Command line:\s*/, "").replace(/^BOOT_IMAGE=\S+\s+/, "").replace(/^initrd=\S+\s*/, "").trim();
  return got === expected ? "exact" : `DIFFERS: got "${got}"`;
}

requireSetup();
if (withPacker) ensurePacker();
console.log(`typing ${keys} keys (${command.length} characters of boot_command) into the tinyos isolinux menu, TCG`);
console.log(`tsimg boot_key_interval = ${interval} ms; Packer 1.6.6 default (100 ms per key event, VNC)\n`);
const results = { tsimg: [], packer: [] };
for (let i = 0; i < runs; i++) {
  for (const [tool, fn] of [["tsimg", tsimgRun], ...(withPacker ? [["packer", packerRun]] : [])]) {
    const r = await fn();
    results[tool].push(r);
    console.log(`run ${i + 1} ${tool.padEnd(6)} ${sec(r.ms)}  received: ${check(r.received)}`);
  }
}
const t = median(results.tsimg.map((r) => r.ms));
console.log(`\nmedian: tsimg ${sec(t)}` + (withPacker ? `, packer ${sec(median(results.packer.map((r) => r.ms)))}, ratio ${(t / median(results.packer.map((r) => r.ms))).toFixed(3)}` : ""));
const bad = [...results.tsimg, ...results.packer].filter((r) => check(r.received) !== "exact").length;
console.log(`received text: ${bad === 0 ? "exact in every run" : `${bad} run(s) differ`}`);
