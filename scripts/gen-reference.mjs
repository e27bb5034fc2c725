// Writes docs/reference.md from the compiled schema (run `npm run build` first).
import { writeFileSync } from "node:fs";
import { COMPONENTS } from "../dist/builder/registry.js";
import { renderReference } from "../dist/template/reference-doc.js";

writeFileSync(new URL("../docs/reference.md", import.meta.url), renderReference(COMPONENTS));
console.log("wrote docs/reference.md");
