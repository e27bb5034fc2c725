// Shared pieces of the benchmarks: the fixture, Packer 1.6.6, line stamping, serial
// following, QEMU process watching, and statistics. Benchmarks print numbers; they never
// assert on time.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, openSync, readSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(ROOT, "dist/cli/main.js");
export const ISO = join(ROOT, "iso/tinyos.iso");

/** The fixture and the compiled CLI must exist (npm run bench runs setup first). */
export function requireSetup() {
  for (const path of [ISO, CLI])
    if (!existsSync(path)) throw new Error(`${path} is missing: run "bash scripts/setup.sh"`);
}

/** Packer 1.6.6 from Debian, installed when missing (the bench runs as root on the build host). */
export function ensurePacker() {
  try {
    return execFileSync("packer", ["version"], { encoding: "utf8" }).trim();
  } catch {
    console.error("bench: installing Debian's packer (1.6.6) for the comparison");
    execFileSync("apt-get", ["install", "-y", "-qq", "packer"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    return execFileSync("packer", ["version"], { encoding: "utf8" }).trim();
  }
}

/** Directories tempDir made: removed when the benchmark's process exits (its images are hundreds of MB). */
const madeDirs = [];
process.on("exit", () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `tsimg-bench-${prefix}-`));
  madeDirs.push(dir);
  return dir;
}

/** Runs a command; every stdout/stderr line is stamped with Date.now() on arrival. */
export function runStamped(command, args, options = {}) {
  // Its own process group, so an interrupt reaches every process of the tool, as Ctrl-C would.
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, ...options });
  const lines = [];
  const onData = (stream) => {
    let partial = "";
    stream.on("data", (chunk) => {
      const now = Date.now();
      const parts = (partial + chunk.toString()).split("\n");
      partial = parts.pop() ?? "";
      for (const text of parts) lines.push({ t: now, text });
    });
  };
  onData(child.stdout);
  onData(child.stderr);
  const done = new Promise((resolve) => child.on("close", (code) => resolve(code)));
  const interrupt = (signal = "SIGINT") => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  return { child, lines, done, interrupt, start: Date.now() };
}

/** Follows a file as it grows; every complete line is stamped on arrival (polled every 5 ms). */
export function followFile(path) {
  const lines = [];
  let offset = 0;
  let partial = "";
  let fd;
  const read = () => {
    if (fd === undefined) {
      try {
        fd = openSync(path, "r");
      } catch {
        return;
      }
    }
    const buffer = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      if (n <= 0) break;
      offset += n;
      const now = Date.now();
      const parts = (partial + buffer.subarray(0, n).toString("latin1")).split(/\r?\n/);
      partial = parts.pop() ?? "";
      // eslint-disable-next-line no-control-regex -- terminal escapes start with ESC
      for (const text of parts) lines.push({ t: now, text: text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "") });
    }
  };
  const timer = setInterval(read, 5);
  return {
    lines,
    /** Text after the last newline (menus draw with escapes and no newlines). */
    get partial() {
      return partial;
    },
    stop() {
      read();
      clearInterval(timer);
      if (fd !== undefined) closeSync(fd);
    },
    /** Resolves with the first line matching re (already seen or future). */
    waitFor(re, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = () => {
          const hit = lines.find((l) => re.test(l.text));
          if (hit) return resolve(hit);
          if (re.test(partial)) return resolve({ t: Date.now(), text: partial });
          if (Date.now() > deadline) return reject(new Error(`serial: no line matching ${re} within ${timeoutMs} ms`));
          setTimeout(check, 5);
        };
        check();
      });
    },
  };
}

/** Watches for a QEMU process whose command line contains marker: start and exit times (polled every 5 ms). */
export function watchQemu(marker) {
  const seen = { started: undefined, exited: undefined, pid: undefined };
  const timer = setInterval(() => {
    if (seen.pid === undefined) {
      try {
        const pid = execFileSync("pgrep", ["-f", `qemu-system.*${marker}`], { encoding: "utf8" })
          .trim()
          .split("\n")[0];
        if (pid) {
          seen.pid = Number(pid);
          seen.started = Date.now();
        }
      } catch {
        // not written yet
      }
    } else if (seen.exited === undefined && !existsSync(`/proc/${seen.pid}`)) {
      seen.exited = Date.now();
    }
  }, 5);
  return { seen, stop: () => clearInterval(timer) };
}

/** Peak RSS (KiB) of a process tree rooted at pid, sampled every 50 ms until stop(). */
export function sampleRss(rootPid, filter = () => true) {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const out = execFileSync("ps", ["-e", "-o", "pid=,ppid=,rss=,comm="], { encoding: "utf8" });
      const rows = out
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .map(([pid, ppid, rss, comm]) => ({ pid: +pid, ppid: +ppid, rss: +rss, comm }));
      const tree = new Set([rootPid]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const r of rows) {
          if (tree.has(r.ppid) && !tree.has(r.pid)) {
            tree.add(r.pid);
            grew = true;
          }
        }
      }
      const total = rows.filter((r) => tree.has(r.pid) && filter(r)).reduce((sum, r) => sum + r.rss, 0);
      peak = Math.max(peak, total);
    } catch {
      // ps can fail while processes come and go: skip this sample
    }
  }, 50);
  return { stop: () => (clearInterval(timer), peak) };
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export const sec = (ms) => (ms === undefined || Number.isNaN(ms) ? "   -  " : `${(ms / 1000).toFixed(2)}s`.padStart(7));

export function fileSize(path) {
  return statSync(path).size;
}

export function readText(path) {
  return readFileSync(path, "utf8");
}
