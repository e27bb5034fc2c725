// prepare-output under the real step runner: what it refuses, what --force may replace, and
// that a failed or cancelled build's cleanup removes only what this build created.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { BuildOptions, BuildStep, BuildStepContext } from "../../src/builder/context.js";
import type { PreparedOutput } from "../../src/builder/values.js";
import { prepareOutput } from "../../src/builder/steps/prepare-output.js";
import { CancelledError } from "../../src/core/errors.js";
import { EventBus } from "../../src/core/event-bus.js";
import { Masker } from "../../src/core/masker.js";
import { Pipeline } from "../../src/core/pipeline.js";
import { OUTPUT_MARKER } from "../../src/qemu/output-paths.js";
import type { BuildPlan } from "../../src/builder/plan.js";
import { stepContext } from "./step-context.js";

const root = mkdtempSync(join(tmpdir(), "tsimg-prepare-output-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let count = 0;
const fresh = () => join(root, String(++count));

/** A later step of the build: writes the disk where prepare-output said, then ends as told. */
function laterStep(
  end: "ok" | "fail" | "cancel",
  controller: AbortController,
): BuildStep<Pick<PreparedOutput, "diskPath">> {
  return {
    name: "create-disk",
    title: "",
    async run(_ctx, input) {
      writeFileSync(input.diskPath, "disk");
      if (end === "fail") throw new Error("QEMU crashed");
      if (end === "cancel") {
        controller.abort(new CancelledError());
        throw new CancelledError();
      }
    },
  };
}

async function build(dir: string, options: Partial<BuildOptions> = {}, end: "ok" | "fail" | "cancel" = "ok") {
  const controller = new AbortController();
  const messages: string[] = [];
  const events = new EventBus("tinyos", new Masker());
  events.on((e) => e.type === "log" && messages.push(e.message));
  const plan = { image: { name: "tinyos" }, source: { output_directory: dir, vm_name: "tinyos.qcow2" } } as BuildPlan;
  const ctx: BuildStepContext = stepContext(plan, {
    options: { cacheDir: root, ...options },
    signal: controller.signal,
    events,
  });
  let state: Partial<PreparedOutput> = {};
  const error = await Pipeline.start<BuildStepContext>()
    .then(prepareOutput)
    .then(laterStep(end, controller))
    .run(ctx)
    .then(
      ({ values }) => void (state = values),
      (e: Error) => e,
    );
  return { error: error?.message, messages, state };
}

/** A directory holding the files given (name -> content). */
function dirWith(files: Record<string, string>): string {
  const dir = fresh();
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("prepare-output", () => {
  test("an existing output_directory without --force is refused and left exactly as it was", async () => {
    const dir = dirWith({ "tinyos.qcow2": "the first build's image", [OUTPUT_MARKER]: "" });
    const { error } = await build(dir);
    expect(error).toMatch(/^output_directory .* already exists; use --force to replace it$/);
    expect(readFileSync(join(dir, "tinyos.qcow2"), "utf8")).toBe("the first build's image");
  });

  test("a successful build leaves the output directory with the marker and the disk", async () => {
    const dir = join(fresh(), "out");
    const { error, state } = await build(dir);
    expect(error).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual([".tinyos.qcow2.building", OUTPUT_MARKER]);
    expect(state.workDir && existsSync(state.workDir)).toBe(false);
  });

  test("a failed build removes the directories it created, parents included, and nothing above them", async () => {
    const parent = dirWith({ "keep.txt": "mine" });
    const { error } = await build(join(parent, "a", "b", "out"), {}, "fail");
    expect(error).toBe("QEMU crashed");
    expect(readdirSync(parent)).toEqual(["keep.txt"]);
  });

  test("a cancelled build removes its output directory too", async () => {
    const dir = join(fresh(), "out");
    const { error } = await build(dir, {}, "cancel");
    expect(error).toBe("build cancelled");
    expect(existsSync(dir)).toBe(false);
  });

  test("--on-error=abort keeps the failed build's output", async () => {
    const dir = join(fresh(), "out");
    const { messages } = await build(dir, { keepOnError: true }, "fail");
    expect(readdirSync(dir)).toContain(".tinyos.qcow2.building");
    expect(messages).toContain(`--on-error=abort: keeping ${dir} for inspection`);
  });

  test("--force replaces an earlier build's output (it holds the marker)", async () => {
    const dir = dirWith({ "tinyos.qcow2": "old image", [OUTPUT_MARKER]: "" });
    const { error, messages } = await build(dir, { force: true });
    expect(error).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual([".tinyos.qcow2.building", OUTPUT_MARKER]);
    expect(messages.some((m) => m.startsWith("--force: replacing"))).toBe(true);
  });

  test("--force refuses a non-empty directory tsimg did not make, and touches nothing in it", async () => {
    const dir = dirWith({ "thesis.tex": "years of work" });
    const { error } = await build(dir, { force: true });
    expect(error).toMatch(
      new RegExp(
        `^--force: output_directory .*${count} was not made by tsimg \\(no ${OUTPUT_MARKER} in it\\) and is not empty; refusing to replace it$`,
      ),
    );
    expect(readdirSync(dir)).toEqual(["thesis.tex"]);
  });

  test("--force refuses a file where the directory should be", async () => {
    const file = join(dirWith({}), "out");
    writeFileSync(file, "a file");
    const { error } = await build(file, { force: true });
    expect(error).toMatch(/was not made by tsimg/);
    expect(readFileSync(file, "utf8")).toBe("a file");
  });

  test("--force uses an empty directory; a failure empties it again but keeps the directory", async () => {
    const dir = dirWith({});
    const ok = await build(dir, { force: true });
    expect(ok.error).toBeUndefined();
    const empty = dirWith({});
    const failed = await build(empty, { force: true }, "fail");
    expect(failed.error).toBe("QEMU crashed");
    expect(existsSync(empty)).toBe(true);
    expect(readdirSync(empty)).toEqual([]);
  });
});
