// env.yaml beside a Packer template: the image's metadata (version, os_type, os_version,
// purpose...) that the users' DevOps system reads. tsimg takes it as [image]: it then names
// the image in events, the manifest and serve's notes.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { ConfigError, ConfigErrors } from "../../core/errors.js";
import { shownPath } from "./hcl-files.js";

/** The folder's env.yaml (or env.yml) as [image], or undefined when there is none. */
export function readEnvYaml(folder: string): { image: Record<string, unknown>; file: string } | undefined {
  const path = ["env.yaml", "env.yml"].map((name) => join(folder, name)).find((p) => existsSync(p));
  if (!path) return undefined;
  const file = shownPath(path);
  const doc = parseDocument(readFileSync(path, "utf8"), { prettyErrors: false });
  const [first] = doc.errors;
  if (first) {
    const at = first.linePos?.[0];
    throw new ConfigErrors([
      new ConfigError(`env.yaml: ${first.message.split("\n")[0]}`, {
        file,
        ...(at ? { line: at.line, column: at.col } : {}),
      }),
    ]);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return { image: {}, file };
  if (typeof value !== "object" || Array.isArray(value))
    throw new ConfigErrors([
      new ConfigError("env.yaml: expected keys such as version: 1.0.0 and os_type: linux", { file }),
    ]);
  const image: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    // `version: 1.10` is a number to YAML and "1.1" to JavaScript: keep what was written.
    const node = doc.get(key, true) as { source?: string } | undefined;
    image[key] =
      typeof v === "number" && typeof node?.source === "string" ? node.source : v instanceof Date ? v.toISOString() : v;
  }
  return { image, file };
}
