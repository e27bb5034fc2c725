// tsimg vs Packer 1.6.6 on the same image: the tinyos example (same ISO, kickstart,
// provisioners, memory, CPUs, boot_wait), under TCG, alternating A B A B. Prints each
// phase's median and min-max per tool, the ratio, the guest-intrinsic time, each tool's
// overhead, SSH detection latency and peak RSS.
//   node bench/compare.mjs [runs=3] [--like-packer]   (--like-packer: tsimg with boot_test = false and --no-cache)
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadTemplate } from "../dist/index.js";
import {
  CLI,
  ISO,
  ROOT,
  ensurePacker,
  followFile,
  median,
  requireSetup,
  runStamped,
  sampleRss,
  sec,
  tempDir,
  watchQemu,
} from "./lib.mjs";

const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 3);
// --like-packer: tsimg without the work Packer does not do (the boot test of the artifact and
// the layer cache's saves), so the two tools do the same work.
const likePacker = process.argv.includes("--like-packer");
const example = loadTemplate(join(ROOT, "images/tinyos.toml"));
const BOOT_WAIT_MS = example.source.boot_wait;

/** A fresh copy of the example project, with the serial console written where we can follow it. */
function project(tool, i) {
  const dir = tempDir(`${tool}-${i}`);
  for (const sub of ["images", "kickstart", "resources"]) cpSync(join(ROOT, sub), join(dir, sub), { recursive: true });
  mkdirSync(join(dir, "iso"));
  cpSync(ISO, join(dir, "iso/tinyos.iso"), { dereference: true });
  cpSync(join(ROOT, "iso/SHA256SUMS"), join(dir, "iso/SHA256SUMS"));
  markProvisioning(join(dir, "images/tinyos/provisioner.sh"));
  return { dir, serial: join(dir, "serial.log"), vmName: `bench-${tool}-${i}-${process.pid}` };
}

/**
 * The provisioning script's own run is guest work: it prints a serial-console marker when it
 * starts and when it ends (both tools run the same script), so its time counts as the
 * guest's and only the tool's part of provisioning (sessions, uploads) as overhead.
 */
function markProvisioning(script) {
  const mark = (name) => `echo "TSIMG-MARK ${name}" > /dev/ttyS0 2>/dev/null || true`;
  const lines = readFileSync(script, "utf8").trimEnd().split("\n");
  const body = lines.findIndex((l) => l.startsWith("set "));
  lines.splice(body + 1, 0, mark("provision-started"));
  lines.push(mark("provision-finished"));
  writeFileSync(script, `${lines.join("\n")}\n`);
}

/** tsimg: the example template as it is, with the serial console and name pinned. */
function tsimgCommand(p) {
  const template = join(p.dir, "images/tinyos.toml");
  const text = readFileSync(template, "utf8").replace(
    "[source]\n",
    `[source]\nvm_name = "${p.vmName}"\naccelerator = "tcg"\nheadless = true\noutput_directory = "${join(p.dir, "out")}"\nqemuargs = [["-serial", "file:${p.serial}"]]\n${likePacker ? "boot_test = false\n" : ""}`,
  );
  writeFileSync(template, text);
  return ["node", [CLI, "build", ...(likePacker ? ["--no-cache"] : []), template]];
}

/** Packer 1.6.6: the same build as a JSON template (1.6.6 has no http_content: the kickstart goes in a directory). */
function packerCommand(p) {
  const s = example.source;
  mkdirSync(join(p.dir, "http/ks"), { recursive: true });
  cpSync(join(ROOT, "kickstart/tinyos.ks"), join(p.dir, "http/ks/tinyos.ks"));
  const shell = example.provisioners.find((x) => x.type === "shell");
  const file = example.provisioners.find((x) => x.type === "file");
  const template = {
    builders: [
      {
        type: "qemu",
        iso_url: join(p.dir, "iso/tinyos.iso"),
        iso_checksum: `file:${join(p.dir, "iso/SHA256SUMS")}`,
        accelerator: "tcg",
        headless: true,
        vm_name: p.vmName,
        output_directory: join(p.dir, "out"),
        disk_size: `${s.disk_size}M`,
        memory: s.memory,
        cpus: s.cpus,
        format: "qcow2",
        boot_wait: `${BOOT_WAIT_MS}ms`,
        boot_command: s.boot_command,
        http_directory: join(p.dir, "http"),
        ssh_username: s.ssh_username,
        ssh_password: s.ssh_password,
        ssh_timeout: "10m",
        shutdown_command: s.shutdown_command,
        shutdown_timeout: "2m",
        qemuargs: [["-serial", `file:${p.serial}`]],
      },
    ],
    provisioners: [
      { type: "file", source: file.source.replace(ROOT, p.dir), destination: file.destination },
      { type: "shell", script: shell.script.replace(ROOT, p.dir), environment_vars: shell.environment_vars },
    ],
  };
  writeFileSync(join(p.dir, "tinyos.json"), JSON.stringify(template, null, 2));
  return ["packer", ["build", "-color=false", join(p.dir, "tinyos.json")]];
}

const PATTERNS = {
  tsimg: {
    waitSsh: /==> \S+: Waiting for SSH\.\.\./,
    connected: /\S+: connected to SSH$/,
    halting: /==> \S+: Gracefully halting/,
  },
  packer: {
    waitSsh: /==> qemu: Waiting for SSH to become available/,
    connected: /==> qemu: Connected to SSH!/,
    halting: /==> qemu: Gracefully halting/,
  },
};

async function measure(tool, i) {
  const p = project(tool, i);
  const [cmd, args] = tool === "tsimg" ? tsimgCommand(p) : packerCommand(p);
  const qemu = watchQemu(p.vmName);
  const serial = followFile(p.serial);
  const run = runStamped(cmd, args, { cwd: p.dir });
  // RSS of the tool's own processes (Packer runs plugins as child processes), not QEMU's.
  const rss = sampleRss(run.child.pid, (r) => !r.comm.startsWith("qemu"));
  const code = await run.done;
  const peakKiB = rss.stop();
  const end = Date.now();
  qemu.stop();
  serial.stop();
  const at = (re) => run.lines.find((l) => re.test(l.text))?.t;
  const mark = (name) => serial.lines.filter((l) => l.text.includes(`TSIMG-MARK ${name}`)).at(-1)?.t;
  const pat = PATTERNS[tool];
  const t = {
    start: run.start,
    qemuStart: qemu.seen.started,
    waitSsh: at(pat.waitSsh),
    connected: at(pat.connected),
    halting: at(pat.halting),
    qemuExit: qemu.seen.exited,
    end,
    installerStarted: mark("installer-started"),
    sshdListening: mark("sshd-listening"),
    provisionStarted: mark("provision-started"),
    provisionFinished: mark("provision-finished"),
  };
  if (code !== 0 || Object.values(t).some((v) => v === undefined)) {
    console.error(
      run.lines
        .slice(-15)
        .map((l) => l.text)
        .join("\n"),
    );
    throw new Error(`${tool} run ${i} failed (exit ${code}) or a phase was not seen: ${JSON.stringify(t)}`);
  }
  const phases = {
    "start QEMU": t.qemuStart - t.start,
    "boot_wait + type": t.waitSsh - t.qemuStart,
    "install + reboot + SSH": t.connected - t.waitSsh,
    provision: t.halting - t.connected,
    shutdown: t.qemuExit - t.halting,
    "compact + exit": t.end - t.qemuExit,
    total: t.end - t.start,
  };
  // What the guest itself spends, which no tool can save: boot_wait, kernel + install +
  // reboot to sshd (guest markers), the provisioning script's run (its markers), and
  // power-off (shutdown command to QEMU exit).
  const guest =
    BOOT_WAIT_MS +
    (t.sshdListening - t.waitSsh) +
    (t.provisionFinished - t.provisionStarted) +
    (t.qemuExit - t.halting);
  return {
    phases,
    guest,
    script: t.provisionFinished - t.provisionStarted,
    overhead: phases.total - guest,
    sshDetect: t.connected - t.sshdListening,
    peakMiB: peakKiB / 1024,
  };
}

requireSetup();
const packerVersion = ensurePacker();
console.log(
  `tsimg vs ${packerVersion} on images/tinyos.toml, TCG, ${runs} runs each, alternating${likePacker ? "; tsimg with boot_test = false and --no-cache" : ""}\n`,
);
const results = { tsimg: [], packer: [] };
for (let i = 1; i <= runs; i++) {
  for (const tool of ["tsimg", "packer"]) {
    const r = await measure(tool, i);
    results[tool].push(r);
    console.log(
      `run ${i} ${tool.padEnd(6)} total ${sec(r.phases.total)}  overhead ${sec(r.overhead)}  ssh detect ${sec(r.sshDetect)}  peak RSS ${r.peakMiB.toFixed(0)} MiB`,
    );
  }
}

const row = (label, pick) => {
  const a = results.tsimg.map(pick);
  const b = results.packer.map(pick);
  const range = (v) => `${sec(Math.min(...v))}-${sec(Math.max(...v)).trim()}`;
  const ratio = median(b) > 0 ? (median(a) / median(b)).toFixed(2) : "  -";
  return `| ${label.padEnd(24)} | ${sec(median(a))} | ${range(a).padEnd(16)} | ${sec(median(b))} | ${range(b).padEnd(16)} | ${ratio.padStart(5)} |`;
};
console.log(`\n| phase                    | tsimg   | tsimg min-max    | packer  | packer min-max   | ratio |`);
console.log(`|--------------------------|---------|------------------|---------|------------------|-------|`);
for (const phase of Object.keys(results.tsimg[0].phases)) console.log(row(phase, (r) => r.phases[phase]));
console.log(row("provision script (guest)", (r) => r.script));
console.log(row("guest-intrinsic", (r) => r.guest));
console.log(row("tool overhead", (r) => r.overhead));
console.log(row("sshd up -> SSH connected", (r) => r.sshDetect));
console.log(
  `| peak RSS (MiB)           | ${median(results.tsimg.map((r) => r.peakMiB))
    .toFixed(0)
    .padStart(7)} |                  | ${median(results.packer.map((r) => r.peakMiB))
    .toFixed(0)
    .padStart(7)} |                  |       |`,
);
console.log(
  `\nguest-intrinsic = boot_wait (${BOOT_WAIT_MS} ms) + (enter typed -> sshd listening on the installed system) + (provisioning script started -> finished) + (shutdown command -> QEMU exit)`,
);
