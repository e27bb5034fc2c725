// Writes docs/reference.md from the compiled schema (run `npm run build` first).
import { writeFileSync } from "node:fs";
import { renderReference } from "../dist/template/reference-doc.js";

writeFileSync(new URL("../docs/reference.md", import.meta.url), renderReference());
console.log("wrote docs/reference.md");
