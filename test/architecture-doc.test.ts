// docs/architecture.md lists the pipeline's steps; this keeps the list true to
// builder/pipeline.ts, for a template that asks for every optional step.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { qemuPipeline } from "../src/builder/pipeline.js";
import type { BuildPlan } from "../src/builder/plan.js";

const doc = readFileSync(new URL("../docs/architecture.md", import.meta.url), "utf8");
const block = doc.slice(doc.indexOf("fetch-iso ->"), doc.indexOf("```", doc.indexOf("fetch-iso ->")));

/** A plan that turns on every optional step (only the fields qemuPipeline reads). */
function planWith(communicator: "ssh" | "none"): BuildPlan {
  const source = { communicator, efi_boot: true, cd_files: ["x"], floppy_files: ["y"], vtpm: true };
  return { source, postProcessors: [[{ type: "checksum" }]] } as unknown as BuildPlan;
}

describe("docs/architecture.md's pipeline", () => {
  it.each(["ssh", "none"] as const)("names every step of a communicator = %s build, in order", (communicator) => {
    const names = qemuPipeline(planWith(communicator)).steps.map((step) => step.name);
    const positions = names.map((name) => block.search(new RegExp(`(^|[\\s\\[|])${name}(\\]|\\s|$)`)));
    expect(names.filter((_, i) => positions[i]! < 0)).toEqual([]);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });
});
