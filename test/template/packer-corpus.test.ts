// The Packer corpus (test/packer-corpus/, modelled on the public templates listed in
// docs/packer-corpus.md): loading each template as `tsimg validate` does gives the outcome
// its `expect` file records, either valid or an error naming the unsupported feature, with
// no stack trace; and `tsimg import` of each valid one round-trips: the original and the
// imported TOML give the same plan and the same QEMU command line (what `inspect` prints);
// a template with several qemu builds gives one TOML per build, each equal to its build.
// In-process (the CLI's own argument parsing and error formatting), so 40 loads take
// seconds, not minutes; the CLI itself runs in test/e2e/packer-rocky9.test.ts.
//
// expect: one line per run, "<template and arguments> | valid" or "... | error: <text>";
// an empty template means the case's folder (Packer's `packer validate .`). Runs happen in
// the case's folder, as Packer resolves relative paths from the working directory.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import {
  ConfigErrors,
  importTemplate,
  loadTemplate,
  loadTemplates,
  previewQemuCommand,
  SeveralBuildsError,
  type TemplateBuild,
} from "../../src/index.js";
import { formatError } from "../../src/cli/errors.js";
import { loadOptions, parseCommandArgs } from "../../src/cli/options.js";

const CORPUS = resolve(import.meta.dirname, "../packer-corpus");
// A copy, so imports are written beside the originals (their relative paths then mean the
// same thing) without touching the checkout.
const copy = mkdtempSync(join(tmpdir(), "tsimg-packer-corpus-"));
cpSync(CORPUS, copy, { recursive: true });
const home = process.cwd();
afterEach(() => process.chdir(home));
afterAll(() => rmSync(copy, { recursive: true, force: true }));
process.env.CORPUS_PROXY_UNSET = "";
process.env.CORPUS_BOX_VERSION = "1.0.0";

interface Run {
  case: string;
  args: string[];
  outcome: { valid: true } | { valid: false; error: string };
}

function runs(): Run[] {
  const out: Run[] = [];
  for (const name of readdirSync(CORPUS)
    .filter((n) => /^\d\d-/.test(n))
    .sort()) {
    const lines = readFileSync(join(CORPUS, name, "expect"), "utf8").split("\n");
    for (const line of lines) {
      if (!line.trim() || line.startsWith("#")) continue;
      const [argText = "", result = ""] = line.split(" | ");
      const args = argText.trim() ? argText.trim().split(/\s+/) : [];
      if (!args[0] || args[0].startsWith("-")) args.unshift(".");
      const error = /^error: (.+)$/.exec(result.trim())?.[1];
      out.push({ case: name, args, outcome: error ? { valid: false, error } : { valid: true } });
    }
  }
  return out;
}

/** The template and load options, parsed as the CLI parses `tsimg validate <args>`, in the case's folder. */
function inCase(run: Run) {
  process.chdir(join(copy, run.case));
  const { values, positionals } = parseCommandArgs("validate", run.args, {});
  return { template: positionals[0]!, options: loadOptions(values) };
}

/** What `validate` prints for the run: "valid", or its error lines; and how many builds it has. */
function validate(run: Run): { valid: boolean; text: string; builds?: number } {
  const { template, options } = inCase(run);
  try {
    return { valid: true, text: "valid", builds: loadTemplates(template, options).length };
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    return { valid: false, text: formatError(error, false).join("\n") };
  }
}

/**
 * The plan and QEMU command line `inspect` shows, with values new on every evaluation masked.
 * Not compared: the template's own path, its load warnings (a skipped non-qemu source is not
 * imported), and variables only locals used (the import writes their values instead).
 */
function inspected(plan: ReturnType<typeof loadTemplate>): Inspected {
  const { templatePath: _path, warnings: _warnings, ...rest } = plan as unknown as Record<string, unknown>;
  void _path;
  void _warnings;
  // {{timestamp}}, {{uuid}}, uuidv4(): the import writes the value it saw, a later evaluation differs.
  const text = JSON.stringify({ plan: rest, qemu: previewQemuCommand(plan) })
    .replace(/\b1[7-9]\d{8}\b/g, "<timestamp>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>");
  return JSON.parse(text) as Inspected;
}

type Inspected = { plan: { variables: Record<string, unknown> } & Record<string, unknown> };

/** Writes the import of one build (all of the template when it has one) and inspects it. */
function importedAs(run: Run, output: string, build?: { only: string; name: string }): Inspected {
  const { template, options } = inCase(run);
  const only = build ? { ...options, only: [build.only] } : options;
  writeFileSync(output, importTemplate(template, output, only, build?.name).toml);
  return inspected(loadTemplate(output, loadOptions({})));
}

/** The same plan and QEMU command line; the import keeps the variables the plan still uses. */
function expectSame(imported: Inspected, original: Inspected): void {
  for (const [name, value] of Object.entries(imported.plan.variables))
    expect(value, `variable ${name}`).toEqual(original.plan.variables[name]);
  const { variables: _a, ...importedRest } = imported.plan;
  const { variables: _b, ...originalRest } = original.plan;
  void _a;
  void _b;
  expect({ ...imported, plan: importedRest }).toEqual({ ...original, plan: originalRest });
}

const all = runs();

describe("the Packer corpus", () => {
  test("covers HCL2 and JSON templates, valid ones and refused ones", () => {
    expect(new Set(all.map((r) => r.case)).size).toBeGreaterThanOrEqual(20);
    expect(all.filter((r) => r.args[0]!.endsWith(".json")).length).toBeGreaterThanOrEqual(5);
    expect(all.filter((r) => r.outcome.valid).length).toBeGreaterThanOrEqual(15);
    expect(all.filter((r) => !r.outcome.valid).length).toBeGreaterThanOrEqual(8);
  });

  test.each(all.map((r) => [`${r.case}: ${r.args.join(" ")}`, r] as const))("validate %s", (_name, run) => {
    const { valid, text } = validate(run);
    expect(text).not.toMatch(/^\s+at /m); // no stack trace
    if (run.outcome.valid) expect(text).toBe("valid");
    else {
      expect(valid).toBe(false);
      expect(text).toMatch(/^Error: \S+:\d+/m); // file:line
      expect(text).toContain(run.outcome.error);
    }
  });

  // A template with several qemu builds loads as one plan per build (tsimg build runs them
  // all, as packer build does); one TOML holds one image, so import asks for -only.
  const several = all.filter((r) => r.outcome.valid && (validate(r).builds ?? 1) > 1);
  process.chdir(home);
  test("several qemu builds: each loads on its own, named and placed apart", () => {
    expect(several.length).toBeGreaterThanOrEqual(1);
    for (const run of several) {
      const { template, options } = inCase(run);
      const plans = loadTemplates(template, options);
      expect(new Set(plans.map((p) => p.image.name)).size).toBe(plans.length);
      expect(new Set(plans.map((p) => p.source.output_directory)).size).toBe(plans.length);
      // A warning about the template (a skipped non-qemu source) is told once, not per build.
      const warnings = plans.flatMap((p) => p.warnings.map((w) => `${w.location} ${w.message}`));
      expect(new Set(warnings).size).toBe(warnings.length);
      if (run.case === "11-multi-source") expect(warnings.filter((w) => w.includes("virtualbox-iso"))).toHaveLength(1);
    }
  });

  test.each(several.map((r, i) => [`${r.case}: ${r.args.join(" ")}`, r, i] as const))(
    "import %s round-trips, one TOML per build as tsimg import writes them",
    (_n, run, i) => {
      const { template, options } = inCase(run);
      // One TOML holds one image: importing the whole template names each build and its -only.
      let builds: TemplateBuild[] = [];
      try {
        importTemplate(template, "x.toml", options);
      } catch (error) {
        expect(formatError(error, false).join("\n")).toMatch(/one image needs one: choose it with -only=/);
        const [only] = error instanceof ConfigErrors ? error.errors : [];
        if (only instanceof SeveralBuildsError) builds = only.builds;
      }
      const originals = loadTemplates(template, options).map(inspected);
      expect(builds.map((b) => b.name)).toHaveLength(originals.length);
      builds.forEach((build, k) =>
        expectSame(importedAs(run, `imported-${i}-${build.name}.toml`, build), originals[k]!),
      );
    },
  );

  const valid = all.filter((r) => r.outcome.valid && !several.includes(r));
  test.each(valid.map((r, i) => [`${r.case}: ${r.args.join(" ")}`, r, i] as const))(
    "import %s round-trips",
    (_n, run, i) => {
      const { template, options } = inCase(run);
      const original = inspected(loadTemplate(template, options));
      expectSame(importedAs(run, `imported-${i}.toml`), original);
    },
  );
});
