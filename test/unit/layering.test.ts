// The layering in docs/architecture.md, checked: nothing below the CLI imports the CLI,
// and the engine's building blocks never import the layers above them.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../../src/", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** Folders a module in `layer` must not import from. */
const FORBIDDEN: Record<string, string[]> = {
  engine: ["cli"],
  builder: ["cli", "engine/build"],
  template: ["cli", "engine", "builder"],
  qemu: ["cli", "builder", "template/load"],
  http: ["cli", "builder", "engine", "template", "qemu"],
  communicator: ["cli", "builder", "template", "qemu"],
  provisioners: ["cli", "builder"],
  // Artifact in, artifact out: the post-processors know nothing of the builder or of how a build runs.
  postprocessors: ["cli", "builder", "engine/build", "engine/runner"],
  util: ["cli", "engine", "builder", "template", "qemu"],
  // Getting the build's inputs (ISO downloads, the cache, seed CDs) knows nothing of how a build runs.
  sources: ["cli", "engine", "builder", "template", "qemu", "provisioners", "postprocessors"],
  // serve builds on the public library API (src/index.ts) and its own files only.
  serve: ["cli", "builder", "engine", "template", "qemu", "http", "communicator", "provisioners", "postprocessors", "util", "net", "errors"],
};

describe("layering", () => {
  it.each(Object.entries(FORBIDDEN))("src/%s imports nothing from the layers above it", (layer, forbidden) => {
    const offenders: string[] = [];
    for (const file of sources(join(SRC, layer))) {
      for (const match of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
        const target = relative(SRC, join(file, "..", match[1] as string));
        if (forbidden.some((f) => target === `${f}.js` || target.startsWith(`${f}/`))) offenders.push(`${relative(SRC, file)} -> ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
