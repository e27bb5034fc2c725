import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderReference } from "../../src/template/reference-doc.js";
import { POST_PROCESSOR_TABLES } from "../../src/postprocessors/schema.js";
import { COMPONENTS, SOURCE_OPTIONS } from "../../src/builder/registry.js";
import { FILE_OPTIONS, SHELL_OPTIONS } from "../../src/provisioners/options.js";
import { VARIABLE_OPTIONS } from "../../src/template/variables.js";

describe("docs/reference.md", () => {
  const committed = readFileSync(new URL("../../docs/reference.md", import.meta.url), "utf8");

  it("is what `npm run docs` generates from the schema", () => {
    expect(committed).toBe(renderReference(COMPONENTS));
  });

  it.each(
    Object.entries({ source: SOURCE_OPTIONS, shell: SHELL_OPTIONS, file: FILE_OPTIONS, variables: VARIABLE_OPTIONS }),
  )("documents every %s option with a meaning and a Packer equivalent", (_table, options) => {
    for (const [name, spec] of Object.entries(options)) {
      expect(committed).toContain(`| \`${name}\` |`);
      expect(spec.doc.length, name).toBeGreaterThan(3);
      expect(spec.packer.length, name).toBeGreaterThan(3);
    }
  });

  it.each(Object.entries(POST_PROCESSOR_TABLES))(
    "documents every option of the %s post-processor, in its own section",
    (type, options) => {
      const start = committed.indexOf(`## \`[[post_processor]]\` with \`type = "${type}"\``);
      expect(start, `no section for ${type}`).toBeGreaterThan(0);
      const end = committed.indexOf("\n## ", start + 1);
      const section = committed.slice(start, end < 0 ? undefined : end);
      for (const [name, spec] of Object.entries(options)) {
        expect(section, `${type}.${name}`).toContain(`| \`${name}\` |`);
        expect(spec.doc.length, name).toBeGreaterThan(3);
        expect(spec.packer.length, name).toBeGreaterThan(3);
      }
    },
  );

  it("explains how [[post_processor]] tables form chains", () => {
    expect(committed).toContain("### Chains: `[[post_processor]]` and `chain`");
    expect(committed).toContain('chain = "release"');
  });
});
