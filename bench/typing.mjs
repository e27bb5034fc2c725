// Micro-benchmark 1: type the Rocky 9 boot command (from images/rocky9.toml) into the
// tinyos installer's isolinux menu, with tsimg (QMP) and with Packer 1.6.6 (VNC). The
// guest echoes what it received: the kernel prints its command line on the serial
// console, and it must end with exactly the typed text. Prints time taken per tool.
//   node bench/typing.mjs [runs=3] [--interval=MS] [--no-packer]
//
// Exactness under load: one VM, the command typed N times into the isolinux edit line
// (<tab> + text, read back from the menu's echo on the serial console, then <esc>), with
// two CPU hogs and another tsimg build running. Prints the error count and timings.
//   node bench/typing.mjs --repeat=200 [--no-load] [--mode=tsimg|no-gate|send-key]
//     tsimg     what builds do: one input-send-event per key event, paced by the guest's reads
//     no-gate   the same without waiting for the guest's reads (boot_key_interval only)
//     send-key  tsimg before issue 12: QMP send-key, QEMU's timers pace (hold-time = interval)
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadTemplate } from "../dist/index.js";
import { parseBootCommand, describeBootCommand } from "../dist/qemu/boot-command.js";
import { QmpClient } from "../dist/qemu/qmp.js";
import { typeActions } from "../dist/qemu/type-keys.js";
import { watchPs2Keyboard } from "../dist/qemu/ps2-watch.js";
import {
  CLI,
  ISO,
  ROOT,
  ensurePacker,
  followFile,
  median,
  percentile,
  requireSetup,
  runStamped,
  sec,
  tempDir,
} from "./lib.mjs";

const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const intervalArg = args.find((a) => a.startsWith("--interval="));
const withPacker = !args.includes("--no-packer");
const repeatArg = args.find((a) => a.startsWith("--repeat="));
const mode = args.find((a) => a.startsWith("--mode="))?.split("=")[1] ?? "tsimg";
const plan = loadTemplate(join(ROOT, "images/rocky9.toml"));
const interval = intervalArg ? Number(intervalArg.split("=")[1]) : plan.source.boot_key_interval;
// Up to <enter>: the template's trailing <wait> is a pause, not typing.
const command = plan.source.boot_command
  .join("")
  .replace(/<enter>.*$/, "<enter>")
  .replace("{{ .HTTPIP }}", "10.0.2.2")
  .replace("{{ .HTTPPort }}", "8123");
// What the kernel line gains: everything typed after <tab>, up to <enter>, trimmed.
const expected = command
  .replace(/^<tab>/, "")
  .replace(/<enter>.*$/, "")
  .trim();
const keys = describeBootCommand(parseBootCommand(command)).keys;

/** Boots the ISO under TCG with a QMP socket; resolves when the isolinux menu is on the serial console. */
async function bootMenu(dir) {
  const serial = join(dir, "serial.log");
  const qmpPath = join(dir, "qmp.sock");
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
      "bench-typing",
      "-drive",
      `file=${ISO},media=cdrom`,
      "-boot",
      "d",
      "-serial",
      `file:${serial}`,
      "-qmp",
      `unix:${qmpPath},server=on,wait=off`,
    ],
    { stdio: "ignore" },
  );
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
    builders: [
      {
        type: "qemu",
        iso_url: ISO,
        iso_checksum: "none",
        accelerator: "tcg",
        headless: true,
        communicator: "none",
        output_directory: join(dir, "out"),
        vm_name: "bench-typing-packer",
        disk_size: "64M",
        boot_wait: "5s",
        boot_command: [command.replace("10.0.2.2:8123", "{{ .HTTPIP }}:{{ .HTTPPort }}")],
        http_directory: dir,
        http_port_min: 8123,
        http_port_max: 8123,
        shutdown_timeout: "5m",
        qemuargs: [
          ["-serial", `file:${join(dir, "serial.log")}`],
          ["-m", "512"],
        ],
      },
    ],
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
  const got = received
    .replace(/^.*Command line:\s*/, "")
    .replace(/^BOOT_IMAGE=\S+\s+/, "")
    .replace(/^initrd=\S+\s*/, "")
    .trim();
  return got === expected ? "exact" : `DIFFERS: got "${got}"`;
}

/** Boots the ISO once; resolves at the menu with a QMP connection and a raw serial reader. */
async function bootForRepeat(dir) {
  const serial = join(dir, "serial.log");
  writeFileSync(serial, "");
  const { qemu, follow, qmpPath } = await bootMenu(dir);
  follow.stop();
  const qmp = await QmpClient.connect(qmpPath);
  return { qemu, qmp, screen: rawReader(serial) };
}

/** The serial log's bytes since the last mark(), escapes and all (the menu draws without newlines). */
function rawReader(path) {
  const fd = openSync(path, "r");
  let markAt = 0;
  let end = 0;
  let text = "";
  const read = () => {
    const buffer = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, end);
      if (n <= 0) return text;
      end += n;
      text += buffer.subarray(0, n).toString("latin1");
    }
  };
  return {
    mark() {
      read();
      markAt = end;
      text = "";
    },
    sinceMark: read,
    async waitFor(needle, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!read().includes(needle)) {
        if (Date.now() > deadline) throw new Error(`serial: no ${JSON.stringify(needle)} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => closeSync(fd),
    get markAt() {
      return markAt;
    },
  };
}

// The typed text as the menu echoes it: after the edit line is drawn ("...initrd.img" and
// the cursor turned back on), every character appears as itself.
const EDIT_LINE_END = "initrd=/isolinux/initrd.img\x1b[?25h";

/** The old way (tsimg before issue 12): QMP send-key, paced by QEMU's own timers. */
async function typeWithSendKey(qmp, actions) {
  for (const action of actions) {
    if (action.kind !== "press") throw new Error(`send-key mode types only taps, got ${action.kind}`);
    await qmp.execute("send-key", {
      keys: action.qcodes.map((data) => ({ type: "qcode", data })),
      "hold-time": interval,
    });
  }
}

/** Starts the load: two CPU hogs and tsimg building images/tinyos.toml over and over. */
function startLoad() {
  const hogs = [0, 1].map(() => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
  process.once("exit", () => hogs.forEach((hog) => hog.kill("SIGKILL")));
  const dir = tempDir("typing-load");
  let stopped = false;
  let builds = 0;
  let current;
  const loop = () => {
    if (stopped) return;
    const run = runStamped(process.execPath, [CLI, "build", "--force", join(ROOT, "images/tinyos.toml")], { cwd: dir });
    current = run;
    run.done.then(async (code) => {
      if (stopped) return;
      builds++;
      // A build that fails at once is no load: say so, and try again a little later.
      if (code !== 0 && Date.now() - run.start < 20_000) {
        console.log(
          `load: the other build failed after ${sec(Date.now() - run.start)}: ${run.lines.at(-1)?.text ?? "(no output)"}`,
        );
        await new Promise((r) => setTimeout(r, 5000));
      }
      loop();
    });
  };
  loop();
  return {
    get builds() {
      return builds;
    },
    async stop() {
      stopped = true;
      for (const hog of hogs) hog.kill("SIGKILL");
      current?.interrupt("SIGINT");
      await current?.done;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function repeatRun(count, withLoad) {
  const dir = tempDir("typing-repeat");
  const vm = await bootForRepeat(dir);
  // Whatever happens, no VM or load is left behind.
  process.once("exit", () => vm.qemu.kill("SIGKILL"));
  const text = expected.length ? ` ${expected} ` : "";
  const typed = command.replace(/<enter>.*$/, ""); // <tab> + text: <enter> would boot
  const gate = mode === "tsimg" ? await watchPs2Keyboard(vm.qmp, join(dir, "ps2-trace.log")) : undefined;
  if (mode === "tsimg" && !gate) throw new Error("this QEMU cannot trace the PS/2 keyboard");
  const load = withLoad ? startLoad() : undefined;
  if (load) await new Promise((r) => setTimeout(r, 5000)); // let the other build get going
  const signal = new AbortController().signal;
  const stalls = [];
  const times = [];
  const typingTimes = [];
  const failures = [];
  for (let i = 0; i < count; i++) {
    vm.screen.mark();
    const t0 = Date.now();
    const actions = parseBootCommand(typed);
    if (mode === "send-key") await typeWithSendKey(vm.qmp, actions);
    else await typeActions(vm.qmp, actions, { intervalMs: interval, signal, gate, onStall: (m) => stalls.push(m) });
    typingTimes.push(Date.now() - t0);
    const got = await readEcho(vm, text);
    times.push(Date.now() - t0);
    if (got !== text) {
      failures.push({ run: i + 1, got });
      console.log(`run ${i + 1}: DIFFERS: got ${JSON.stringify(got)}`);
      await resetToMenu(vm);
    } else {
      vm.screen.mark();
      await typeActions(vm.qmp, parseBootCommand("<esc>"), { intervalMs: interval, signal, gate });
      await vm.screen.waitFor("escue shell", 30_000);
    }
    if ((i + 1) % 20 === 0)
      console.log(
        `${i + 1}/${count}: ${failures.length} error(s) so far, median ${sec(median(times))}${load ? `, other builds finished: ${load.builds}` : ""}`,
      );
  }
  await load?.stop();
  await gate?.stop();
  vm.qmp.close();
  vm.qemu.kill("SIGKILL");
  vm.screen.close();
  return { failures, times, typingTimes, stalls, builds: load?.builds };
}

/** Waits until the echo of this typing shows the whole text, or stops changing for 5 s. */
async function readEcho(vm, text) {
  let last = "";
  let since = Date.now();
  for (;;) {
    const raw = vm.screen.sinceMark();
    const at = raw.lastIndexOf(EDIT_LINE_END);
    const echo = at < 0 ? raw : raw.slice(at + EDIT_LINE_END.length);
    if (at >= 0 && echo === text) return echo;
    if (echo !== last) {
      last = echo;
      since = Date.now();
    }
    if (Date.now() - since > 5000) return at < 0 ? `(no edit line) ${JSON.stringify(raw.slice(-200))}` : echo;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function resetToMenu(vm) {
  vm.screen.mark();
  await vm.qmp.execute("system_reset");
  await vm.screen.waitFor("escue shell", 60_000);
  await new Promise((r) => setTimeout(r, 500));
}

requireSetup();
if (repeatArg) {
  const count = Number(repeatArg.split("=")[1]);
  const withLoad = !args.includes("--no-load");
  console.log(
    `typing the Rocky 9 boot command (${keys} keys) ${count} times into the tinyos isolinux edit line, TCG, mode ${mode}, boot_key_interval ${interval} ms`,
  );
  console.log(
    withLoad ? "load: two CPU hogs and another tsimg build (images/tinyos.toml, rebuilt in a loop)\n" : "no load\n",
  );
  const t0 = Date.now();
  const r = await repeatRun(count, withLoad);
  const stats = (values) =>
    `median ${sec(median(values))}, p95 ${sec(percentile(values, 95))}, max ${sec(Math.max(...values))}`;
  console.log(`\n${count} typings: ${r.failures.length} error(s); total ${sec(Date.now() - t0)}`);
  console.log(`  typing (until the last key event was sent): ${stats(r.typingTimes)}`);
  console.log(`  until the whole text was echoed:            ${stats(r.times)}`);
  console.log(
    `guest stalls reported: ${r.stalls.length}${r.builds === undefined ? "" : `; other builds finished meanwhile: ${r.builds}`}`,
  );
  process.exit(r.failures.length ? 1 : 0);
}
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
console.log(
  `\nmedian: tsimg ${sec(t)}` +
    (withPacker
      ? `, packer ${sec(median(results.packer.map((r) => r.ms)))}, ratio ${(t / median(results.packer.map((r) => r.ms))).toFixed(3)}`
      : ""),
);
const bad = [...results.tsimg, ...results.packer].filter((r) => check(r.received) !== "exact").length;
console.log(`received text: ${bad === 0 ? "exact in every run" : `${bad} run(s) differ`}`);
