// Validates a CycloneDX 1.6 JSON document against the JSON schema the CycloneDX library
// ships (res/schema), with ajv. The BOM schema names its SPDX and JSF schemas by file name.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";

const require = createRequire(import.meta.url);
const schemaDir = join(dirname(require.resolve("@cyclonedx/cyclonedx-library/package.json")), "res/schema");
const load = (file: string) => JSON.parse(readFileSync(join(schemaDir, file), "utf8")) as Record<string, unknown>;

/** The errors of `doc` against bom-1.6's schema; [] when it is valid. */
export function cycloneDxErrors(doc: unknown): string[] {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // ajv-formats has no IRI formats; the BOM's link fields use one.
  ajv.addFormat("iri-reference", true);
  for (const file of [
    "spdx.SNAPSHOT.schema.json",
    "jsf-0.82.SNAPSHOT.schema.json",
    "cryptography-defs.SNAPSHOT.schema.json",
  ])
    ajv.addSchema({ ...load(file), $id: `http://cyclonedx.org/schema/${file}` });
  const validate = ajv.compile(load("bom-1.6.SNAPSHOT.schema.json"));
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`);
}
