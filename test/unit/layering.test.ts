// The layering in docs/architecture.md, checked: nothing below the CLI imports the CLI, the
// components import neither the loader, the builder nor each other, and core/ imports nothing.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../../src/", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** The components: each owns its options; none imports the template loader, the builder or another component. */
const COMPONENTS = ["qemu", "http", "sources", "communicator", "provisioners", "postprocessors"];
/** What sits above the components. */
const ABOVE_COMPONENTS = ["cli", "serve", "index", "engine/build", "builder", "template"];
const otherComponents = (self: string, ...allowed: string[]) => COMPONENTS.filter((c) => c !== self && !allowed.includes(c));

/** Folders (or modules, without .js) a module in `layer` must not import from. */
const FORBIDDEN: Record<string, string[]> = {
  // The ground floor: the option kit, units, run-time placeholders; only errors below it.
  core: [...ABOVE_COMPONENTS, ...COMPONENTS, "engine", "util", "net"],
  engine: ["cli", "serve"],
  builder: ["cli", "serve", "index", "engine/build"],
  // The generic loader: formats, positions, variables, interpolation; components come from a registry passed in.
  template: ["cli", "serve", "index", "engine", "builder", ...COMPONENTS],
  qemu: [...ABOVE_COMPONENTS, ...otherComponents("qemu")],
  http: [...ABOVE_COMPONENTS, ...otherComponents("http"), "engine"],
  communicator: [...ABOVE_COMPONENTS, ...otherComponents("communicator")],
  provisioners: [...ABOVE_COMPONENTS, ...otherComponents("provisioners", "communicator")],
  // Artifact in, artifact out: the post-processors know nothing of the builder or of how a build runs.
  postprocessors: [...ABOVE_COMPONENTS, ...otherComponents("postprocessors"), "engine/runner"],
  // Getting the build's inputs (ISO downloads, the cache, seed CDs) knows nothing of how a build runs.
  sources: [...ABOVE_COMPONENTS, ...otherComponents("sources"), "engine"],
  util: [...ABOVE_COMPONENTS, ...COMPONENTS, "engine"],
  net: [...ABOVE_COMPONENTS, ...COMPONENTS, "engine", "util", "core"],
  // serve builds on the public library API (src/index.ts) and its own files only.
  serve: ["cli", "builder", "engine", "template", "core", "qemu", "http", "sources", "communicator", "provisioners", "postprocessors", "util", "net", "errors"],
};

describe("layering", () => {
  it.each(Object.entries(FORBIDDEN))("src/%s imports nothing from the layers above it", (layer, forbidden) => {
    const offenders: string[] = [];
    for (const file of sources(join(SRC, layer))) {
      for (const match of readFileSync(file, "utf8").matchAll(/(?:from |import\()"(\.[^"]+)"/g)) {
        const target = relative(SRC, join(file, "..", match[1] as string));
        if (forbidden.some((f) => target === `${f}.js` || target.startsWith(`${f}/`))) offenders.push(`${relative(SRC, file)} -> ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
