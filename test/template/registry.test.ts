// template/ is a generic loader: everything it knows of [source], provisioners and
// post-processors comes from the ComponentRegistry it is given. A registry of toy components
// shows the seam other template formats and components plug into.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { checkTable } from "../../src/core/check-options.js";
import { secretValues, type ConfigOf } from "../../src/core/options.js";
import { ConfigErrors } from "../../src/core/errors.js";
import { readTemplate } from "../../src/template/load.js";
import type { ComponentRegistry } from "../../src/template/registry.js";

const SOURCE = {
  greeting: { type: "string", required: true, doc: "What to say.", packer: "none" },
  password: { type: "string", secret: true, doc: "Masked.", packer: "none" },
  repeat: { type: "integer", min: 1, default: 1, doc: "How often.", packer: "none" },
} as const;
type Source = ConfigOf<typeof SOURCE>;

const ECHO = {
  type: { type: "string", required: true, doc: "`echo`.", packer: "none" },
  text: { type: "string", default: "", doc: "Text.", packer: "none" },
} as const;
type Echo = ConfigOf<typeof ECHO, { type: "echo" }>;

const toys: ComponentRegistry<Source, Echo, Echo> = {
  source: {
    options: SOURCE,
    check: (resolved, _written, { baseDir, problems }) => {
      const source = checkTable(resolved, SOURCE, ["source"], baseDir, problems);
      if (source.greeting === "boo") problems.push({ path: ["source", "greeting"], message: "greeting: not so loud" });
      return source;
    },
    secrets: (source) => secretValues(SOURCE, source),
  },
  provisioners: {
    types: { echo: ECHO },
    check: (table, path, baseDir, problems) => ({ ...checkTable(table, ECHO, path, baseDir, problems), type: "echo" }),
    secrets: () => [],
  },
  postProcessors: {
    types: { echo: ECHO },
    check: (table, path, baseDir, problems) => ({ ...checkTable(table, ECHO, path, baseDir, problems), type: "echo" }),
    secrets: (configs) => configs.map((c) => c.text).filter((t) => t.startsWith("secret")),
  },
};

const root = mkdtempSync(join(tmpdir(), "tsimg-registry-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(toml: string): string {
  const path = join(root, `t${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(path, toml);
  return path;
}

function messages(path: string): string[] {
  try {
    readTemplate(path, { env: {} }, toys);
  } catch (error) {
    if (error instanceof ConfigErrors) return error.errors.map((e) => `${e.message} [${e.key}]`);
    throw error;
  }
  return [];
}

describe("readTemplate with a registry of toy components", () => {
  test("checks [source], provisioners and post-processors with the registry's tables, and collects their secrets", () => {
    const plan = readTemplate(
      write(
        `[source]\ngreeting = "hello"\npassword = "pw"\n\n[[provisioner]]\ntype = "echo"\ntext = "hi"\n\n[[post_processor]]\ntype = "echo"\ntext = "secret-1"\n`,
      ),
      { env: {} },
      toys,
    );
    expect(plan.source).toEqual({ greeting: "hello", password: "pw", repeat: 1 });
    expect(plan.provisioners).toEqual([{ type: "echo", text: "hi" }]);
    expect(plan.postProcessors).toEqual([[{ type: "echo", text: "secret-1" }]]);
    expect(plan.secrets).toEqual(["pw", "secret-1"]);
  });

  test("the registry's checks report in the loader's words, with key paths", () => {
    expect(messages(write(`[source]\ngreeting = "boo"\nrepeat = 0\nrepeats = 2\n`))).toEqual([
      "repeat: must be at least 1, got 0 [source.repeat]",
      'unknown key "repeats"; did you mean "repeat"? [source.repeats]',
      "greeting: not so loud [source.greeting]",
    ]);
  });

  test("a top-level key is placed under [source] by the registry's option names", () => {
    expect(messages(write(`greeting = "hi"\n[source]\ngreeting = "hello"\n`))).toEqual([
      '"greeting" is outside any table: it belongs under [source] [greeting]',
    ]);
  });
});
