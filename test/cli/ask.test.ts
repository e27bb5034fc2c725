// The --on-error=ask prompt, driven through real streams.
import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { createAsker } from "../../src/cli/ask.js";
import { TsimgError } from "../../src/core/errors.js";

function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = "";
  output.on("data", (chunk: Buffer) => (shown += chunk.toString()));
  return { input, output, shown: () => shown };
}

describe("--on-error=ask", () => {
  test("shows the failure, asks until the answer is c, a or r", async () => {
    const t = terminal();
    const ask = createAsker(t.input, t.output);
    const answer = ask("tinyos", "wait-ssh", new TsimgError("timed out after 5m waiting for SSH"));
    t.input.write("maybe\n");
    t.input.write("R\n");
    expect(await answer).toBe("retry");
    expect(t.shown()).toContain('==> tinyos: step "wait-ssh" failed: timed out after 5m waiting for SSH');
    expect(
      t
        .shown()
        .match(
          /\[c\] clean up and exit, \[a\] abort and keep the output \(QEMU is still stopped\), \[r\] retry the step\?/g,
        ),
    ).toHaveLength(2);
  });

  test("input that ends before an answer (the terminal went away) is the safe answer, cleanup, never retry", async () => {
    const t = terminal();
    const ask = createAsker(t.input, t.output);
    const answer = ask("tinyos", "provision", new TsimgError("exit 1"));
    t.input.write("maybe\n");
    t.input.end();
    expect(await answer).toBe("cleanup");
  });

  test("parallel builds are asked one at a time, in order", async () => {
    const t = terminal();
    const ask = createAsker(t.input, t.output);
    const first = ask("one", "provision", new TsimgError("x"));
    const second = ask("two", "provision", new TsimgError("y"));
    t.input.write("a\n");
    expect(await first).toBe("abort");
    t.input.write("c\n");
    expect(await second).toBe("cleanup");
    expect(t.shown().indexOf("==> two:")).toBeGreaterThan(t.shown().indexOf("==> one:"));
  });
});

describe("tsimg build --on-error=ask", () => {
  test("is refused, with a reason, when stdin is not a terminal", async () => {
    const { spawnSync } = await import("node:child_process");
    const run = spawnSync(process.execPath, ["dist/cli/main.js", "build", "--on-error=ask", "images/tinyos.toml"], {
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      "Error: --on-error=ask needs a terminal to ask on (stdin is not a TTY); use cleanup or abort",
    );
  });
});
