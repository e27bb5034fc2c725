// The layering of src/ (docs/architecture.md), checked by dependency-cruiser with the rules in
// .dependency-cruiser.cjs: each folder imports only the folders below it, type-only and
// dynamic imports included, with no cycles. The rules must also catch a deliberate breach.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CONFIG = join(ROOT, ".dependency-cruiser.cjs");
const DEPCRUISE = join(ROOT, "node_modules", ".bin", "depcruise");

/** depcruise's error report for src/ under `cwd`, and whether it passed. */
function cruise(cwd: string): { ok: boolean; report: string } {
  try {
    return {
      ok: true,
      report: execFileSync(DEPCRUISE, ["src", "--config", CONFIG, "--output-type", "err"], { cwd, encoding: "utf8" }),
    };
  } catch (error) {
    return { ok: false, report: String((error as { stdout?: string }).stdout) };
  }
}

/** Every .ts file under a folder, recursively. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("small files (issue 17)", () => {
  it("no source file is over 400 lines, and the median is under 150", () => {
    const lines = sourceFiles(join(ROOT, "src")).map((f) => ({
      file: f.slice(ROOT.length),
      n: readFileSync(f, "utf8").split("\n").length - 1,
    }));
    expect(lines.filter((l) => l.n > 400)).toEqual([]);
    const sorted = lines.map((l) => l.n).sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(150);
  });
});

describe("layering", () => {
  it("src/ passes the dependency rules, with no exceptions", () => {
    const { ok, report } = cruise(ROOT);
    expect(report).toContain("no dependency violations found");
    expect(ok).toBe(true);
  });

  it("docs/architecture.dot is the picture of today's imports (npm run docs redraws it)", async () => {
    const { architectureDot } = await import(join(ROOT, "scripts", "gen-architecture.mjs"));
    expect(readFileSync(join(ROOT, "docs", "architecture.dot"), "utf8")).toBe(architectureDot());
  });

  describe("a deliberate breach fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-layering-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", strict: true } }),
    );
    const files: Record<string, string> = {
      "src/builder/pipeline.ts": "export const steps = [];\n",
      "src/core/static.ts": 'import { steps } from "../builder/pipeline.js";\nexport const n = steps.length;\n',
      "src/core/type-only.ts": 'import type { steps } from "../builder/pipeline.js";\nexport type T = typeof steps;\n',
      "src/core/dynamic.ts": 'export const load = () => import("../builder/pipeline.js");\n',
      "src/qemu/to-template.ts": 'import { steps } from "../builder/pipeline.js";\nexport const m = steps;\n',
      "src/cli/deep.ts": 'import { steps } from "../builder/pipeline.js";\nexport const c = steps;\n',
      "src/builder/steps/a.ts": 'import { b } from "./b.js";\nexport const a = b;\n',
      "src/builder/steps/b.ts": "export const b = 1;\n",
      "src/util/ring-a.ts": 'import { b } from "./ring-b.js";\nexport const a = () => b;\n',
      "src/util/ring-b.ts": 'import { a } from "./ring-a.js";\nexport const b = () => a;\n',
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const { ok, report } = cruise(dir);

    it("and the run fails", () => expect(ok).toBe(false));
    it.each([
      ["an upward import", "not-in-allowed: src/core/static.ts → src/builder/pipeline.ts"],
      ["a type-only upward import", "not-in-allowed: src/core/type-only.ts → src/builder/pipeline.ts"],
      ["a dynamic upward import", "not-in-allowed: src/core/dynamic.ts → src/builder/pipeline.ts"],
      ["a component importing the builder", "not-in-allowed: src/qemu/to-template.ts → src/builder/pipeline.ts"],
      ["cli/ reaching past src/index.ts", "not-in-allowed: src/cli/deep.ts → src/builder/pipeline.ts"],
      ["a step importing a step", "no-step-imports-step: src/builder/steps/a.ts → src/builder/steps/b.ts"],
      ["a cycle", "no-cycles: src/util/ring-a.ts"],
    ])("%s is reported", (_what, line) => expect(report).toContain(line));
  });
});
