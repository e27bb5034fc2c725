// Shared pieces of the end-to-end tests: real QEMU (TCG), real SSH, real HTTP.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync, cpSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SshSession } from "../../src/communicator/ssh.js";
import { sleep } from "../../src/core/abort.js";
import { findFreePort } from "../../src/util/ports.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = join(ROOT, "dist/cli/main.js");
export const ISO = join(ROOT, "iso/tinyos.iso");

/** Fails loudly when scripts/setup.sh has not built the fixture. */
export function requireFixture(): void {
  if (!existsSync(ISO)) throw new Error(`${ISO} is missing: run "bash scripts/setup.sh" (npm test does it first)`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build"`);
}

/**
 * A copy of the tinyos example in a fresh temp dir (images/, kickstart/, resources/, iso/),
 * with a unique vm name so leftover QEMUs can be found, and `patch` applied to the template text.
 */
export function makeProject(patch: (template: string) => string = (t) => t): {
  dir: string;
  template: string;
  vmName: string;
  output: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-e2e-"));
  for (const sub of ["images", "kickstart", "resources"]) cpSync(join(ROOT, sub), join(dir, sub), { recursive: true });
  mkdirSync(join(dir, "iso"));
  cpSync(ISO, join(dir, "iso/tinyos.iso"), { dereference: true });
  cpSync(join(ROOT, "iso/SHA256SUMS"), join(dir, "iso/SHA256SUMS"));
  const vmName = `e2e-${Math.random().toString(36).slice(2, 10)}.qcow2`;
  const template = join(dir, "images/tinyos.toml");
  let text = readFileSync(template, "utf8");
  text = text.replace(
    "[source]\n",
    // Each project has its own layer cache: no test continues from another test's layers.
    `[source]\nvm_name = "${vmName}"\noutput_directory = "${join(dir, "output")}"\nheadless = true\naccelerator = "tcg"\nlayer_cache_dir = "${join(dir, "layers")}"\n`,
  );
  writeFileSync(template, patch(text));
  return { dir, template, vmName, output: join(dir, "output") };
}

/** PIDs of QEMU processes whose command line mentions `marker`. */
export function qemuPids(marker: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", `qemu-system.*${marker}`], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Waits until no QEMU mentions marker, up to ms; returns the PIDs still there. */
export async function waitNoQemu(marker: string, ms = 5000): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (qemuPids(marker).length === 0) return [];
    await sleep(100);
  }
  return qemuPids(marker);
}

/** Runs the CLI; resolves with its exit code and output; `onLine` sees stdout/stderr lines as they come. */
export function runCli(
  args: string[],
  options: { cwd?: string; onLine?: (line: string, child: ChildProcess) => void } = {},
) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    for (const line of text.split("\n")) if (line) options.onLine?.(line, child);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolveDone) =>
    child.on("close", (code, signal) => resolveDone({ code, signal, output })),
  );
  return { child, done };
}

/**
 * Boots a finished disk image on its own (no ISO, no -kernel, TCG), logs in over SSH
 * with the password, and returns the output of `command`.
 */
export async function bootAndRun(disk: string, password: string, command: string): Promise<string> {
  const port = await findFreePort(20000, 30000, "127.0.0.1", "test SSH");
  const marker = `boot-check-${port}`;
  const serial = join(dirname(disk), `${marker}.serial`);
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
      marker,
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
  try {
    const ssh = await SshSession.connect(
      { host: "127.0.0.1", port, username: "root", password, handshakeAttempts: 3 },
      AbortSignal.timeout(180_000),
    );
    let out = "";
    await ssh.exec(command, (_stream, line) => (out += `${line}\n`));
    ssh.close();
    return out;
  } finally {
    qemu.kill("SIGKILL");
  }
}

/** Width and height from a PNG's IHDR chunk; throws unless buf starts like a PNG. */
export function pngSize(buf: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 24 || !buf.subarray(0, 8).equals(signature) || buf.subarray(12, 16).toString("latin1") !== "IHDR")
    throw new Error(`not a PNG: ${buf.subarray(0, 16).toString("hex")} (${buf.length} bytes)`);
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}
