// Stub: replaced by the real front-end.
import { ConfigError, ConfigErrors } from "../../core/errors.js";
import type { TemplateDocument } from "../document.js";
import type { PackerInputs } from "./inputs.js";

export function readJsonDocument(path: string, shown: string, inputs: PackerInputs): TemplateDocument {
  void inputs;
  throw new ConfigErrors([new ConfigError(`not yet supported: ${path}`, { file: shown })]);
}
