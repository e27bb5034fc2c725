// The typed pipeline: each step gets the outputs of the steps before it, an optional step
// (or group) only when its condition holds, and a step that failed half way is cleaned up
// with what it recorded so far. The runner's own contract is runner.test.ts's.
import { describe, expect, test } from "vitest";
import { EventBus } from "../../src/core/event-bus.js";
import { Masker } from "../../src/core/masker.js";
import { Pipeline } from "../../src/core/pipeline.js";
import type { Step, StepContext } from "../../src/core/runner.js";

const ctx = (): StepContext => ({ signal: new AbortController().signal, events: new EventBus("test", new Masker()) });

const makeDisk: Step<object, { disk: string }> = {
  name: "make-disk",
  title: "",
  run: async () => ({ disk: "a.qcow2" }),
};
const startVm: Step<{ disk: string }, { pid: number }> = {
  name: "start-vm",
  title: "",
  run: async (_ctx, input) => ({ pid: input.disk.length }),
};
const makeKey: Step<object, { key: string }> = { name: "make-key", title: "", run: async () => ({ key: "ed25519" }) };
const useKey: Step<{ key?: string; pid: number }, { login: string }> = {
  name: "use-key",
  title: "",
  run: async (_ctx, input) => ({ login: `${input.key ?? "password"}@${input.pid}` }),
};

describe("Pipeline", () => {
  test("each step reads what the steps before it produced; run resolves with all of it", async () => {
    const { values } = await Pipeline.start().then(makeDisk).then(startVm).then(useKey).run(ctx());
    expect(values).toEqual({ disk: "a.qcow2", pid: 7, login: "password@7" });
  });

  test("when(false, step) leaves the step out, and its output is optional for the steps after it", async () => {
    const build = (key: boolean) => Pipeline.start().when(key, makeKey).then(makeDisk).then(startVm).then(useKey);
    expect(build(false).steps.map((s) => s.name)).toEqual(["make-disk", "start-vm", "use-key"]);
    expect((await build(true).run(ctx())).values.login).toBe("ed25519@7");
    expect((await build(false).run(ctx())).values.login).toBe("password@7");
  });

  test("when(condition, group) adds the group's steps in order, or none", () => {
    const build = (vm: boolean) =>
      Pipeline.start()
        .then(makeDisk)
        .when(vm, (steps) => steps.then(startVm).then(useKey));
    expect(build(true).steps.map((s) => s.name)).toEqual(["make-disk", "start-vm", "use-key"]);
    expect(build(false).steps.map((s) => s.name)).toEqual(["make-disk"]);
  });

  test("a step that fails half way is cleaned up with what it recorded; a finished one with its whole output", async () => {
    const cleanups: string[] = [];
    const halfWay: Step<{ disk: string }, { vm: string; socket: string }> = {
      name: "half-way",
      title: "",
      async run(_ctx, input, progress) {
        progress.vm = `vm on ${input.disk}`;
        throw new Error("no socket");
      },
      cleanup: async (_ctx, input, output, outcome) =>
        void cleanups.push(`half-way ${outcome}: ${input.disk} ${JSON.stringify(output)}`),
    };
    const first: Step<object, { disk: string }> = {
      ...makeDisk,
      cleanup: async (_ctx, _input, output, outcome) =>
        void cleanups.push(`make-disk ${outcome}: ${JSON.stringify(output)}`),
    };
    await expect(Pipeline.start().then(first).then(halfWay).run(ctx())).rejects.toThrow("no socket");
    expect(cleanups).toEqual([
      'half-way failed: a.qcow2 {"vm":"vm on a.qcow2"}',
      'make-disk failed: {"disk":"a.qcow2"}',
    ]);
  });

  test("the compiler refuses a step whose inputs no earlier step produces", () => {
    // Checked by tsc, not at run time: each line below is a type error.
    // @ts-expect-error start-vm reads `disk`, which nothing before it produces
    Pipeline.start().then(startVm);
    // @ts-expect-error use-key reads `pid`: a value only an optional group produces is optional
    Pipeline.start()
      .then(makeDisk)
      .when(true, (steps) => steps.then(startVm))
      .then(useKey);
    expect(true).toBe(true);
  });
});
