// ESLint: typescript-eslint's recommended rules on everything we write. Formatting is
// prettier's job (npm run format), so there are no style rules here.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The globals our plain-JavaScript files use (TypeScript files are checked by tsc instead).
const NODE = [
  "process",
  "console",
  "Buffer",
  "URL",
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "setImmediate",
  "AbortController",
  "AbortSignal",
  "TextDecoder",
  "TextEncoder",
  "fetch",
  "performance",
];
const BROWSER = [
  "window",
  "document",
  "location",
  "history",
  "EventSource",
  "fetch",
  "console",
  "setTimeout",
  "clearTimeout",
  "URL",
  "URLSearchParams",
  "requestAnimationFrame",
  "localStorage",
  "Image",
  "HTMLElement",
];
const readonly = (names) => Object.fromEntries(names.map((name) => [name, "readonly"]));

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "test/fixtures/", "iso/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: readonly(NODE) } },
  { files: ["src/serve/public/**/*.js"], languageOptions: { globals: readonly(BROWSER), sourceType: "script" } },
  {
    files: ["**/*.cjs"],
    languageOptions: { globals: readonly(["module", "require", "__dirname"]), sourceType: "commonjs" },
  },
  // Tests handle GitLab's JSON payloads and fake collaborators: `any` is fine there.
  { files: ["test/**"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
    },
  },
);
