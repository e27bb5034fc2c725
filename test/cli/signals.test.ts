// serve and the worker wait for SIGTERM with untilSignal: the process then shuts down by
// itself, even while an execa child process runs (execa's signal-exit re-raised the signal
// when a `process.once` listener had gone, killing serve mid-shutdown).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function start(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "signal-child.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = async () => {
    while (!output.includes("ready")) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  return { child, exited, ready, output: () => output };
}

describe("untilSignal", () => {
  it("SIGTERM while an execa child runs: the shutdown runs to its end and the exit code is 143", async () => {
    const p = start();
    await p.ready();
    p.child.kill("SIGTERM");
    expect(await p.exited).toEqual({ code: 143, signal: null });
    expect(p.output()).toContain("stopping on SIGTERM\nstopped\n");
  }, 60_000);

  it("a second signal during the shutdown exits at once", async () => {
    const p = start({ SHUTDOWN_MS: "50000" }); // unless the second signal ends it, the child says "stopped" after 50 s
    await p.ready();
    p.child.kill("SIGINT");
    while (!p.output().includes("stopping")) await new Promise((resolve) => setTimeout(resolve, 10));
    p.child.kill("SIGTERM");
    expect(await p.exited).toEqual({ code: 143, signal: null });
    expect(p.output()).toContain("again SIGTERM");
    expect(p.output()).not.toContain("stopped");
  }, 60_000);
});
