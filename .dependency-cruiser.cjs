// The layering of src/, checked by dependency-cruiser (npm run lint, and in npm test through
// test/layering.test.ts). Each folder is one layer and may import only the folders its entry
// in LAYERS lists, besides itself; anything else is an error. Type-only and dynamic imports
// count like any other. docs/architecture.md explains the layers.

/** Folders each layer may import, besides itself. Ground floor first. */
const LAYERS = {
  core: [],
  util: ["core"],
  sources: ["core", "util"],
  http: ["core", "util"],
  communicator: ["core", "util"],
  qemu: ["core", "util"],
  provisioners: ["core", "util", "communicator"],
  postprocessors: ["core", "util"],
  checks: ["core", "util", "communicator"],
  inventory: ["core", "util", "communicator"],
  diff: ["core", "util"],
  template: ["core", "util"],
  cache: ["core", "util"],
  builder: [
    "core",
    "util",
    "cache",
    "template",
    "sources",
    "http",
    "communicator",
    "qemu",
    "provisioners",
    "postprocessors",
    "checks",
    "inventory",
  ],
  build: [
    "core",
    "util",
    "cache",
    "template",
    "sources",
    "http",
    "communicator",
    "qemu",
    "provisioners",
    "postprocessors",
    "checks",
    "inventory",
    "builder",
  ],
  // The top floor sees the library only through src/index.ts (below); the CLI also starts serve.
  serve: [],
  // A build host: serve's build process and its side of the queue protocol, nothing else of serve.
  worker: ["serve"],
  cli: ["serve", "worker"],
};

const folders = (names) => (names.length ? `^src/(${names.join("|")})/` : "^$");

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "modules import each other in one direction only",
      from: {},
      to: { circular: true },
    },
    { name: "no-unresolvable", severity: "error", from: {}, to: { couldNotResolve: true } },
    {
      name: "no-step-imports-step",
      severity: "error",
      comment: "steps share helpers through builder/, never through each other",
      from: { path: "^src/builder/steps/" },
      to: { path: "^src/builder/steps/" },
    },
    {
      name: "no-dev-dependencies-in-src",
      severity: "error",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-dev"] },
    },
  ],
  allowedSeverity: "error",
  allowed: [
    // Node's own modules and the package's dependencies.
    { from: {}, to: { dependencyTypes: ["core", "npm"] } },
    // Within one folder.
    { from: { path: "^src/([^/]+)/" }, to: { path: "^src/$1/" } },
    ...Object.entries(LAYERS).map(([layer, below]) => ({
      from: { path: `^src/${layer}/` },
      to: { path: folders(below) },
    })),
    // src/index.ts, the library's door, re-exports build/ and the types and helpers it returns;
    // it is all cli/ and serve/ see of the library.
    {
      from: { path: "^src/index\\.ts$" },
      to: { path: folders(["build", "builder", "core", "template", "qemu", "postprocessors", "diff", "cache"]) },
    },
    { from: { path: folders(["cli", "serve"]) }, to: { path: "^src/index\\.ts$" } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^src/serve/public/" },
  },
};
