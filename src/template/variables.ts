// Variable values, lowest precedence first: default, --var-file, environment
// (TSIMG_VAR_name, or Packer's PKR_VAR_name), --var name=value.
import TOML from "@iarna/toml";
import { readFileSync } from "node:fs";
import { checkTable, isPlainTable, type Problem } from "../core/check-options.js";
import { closest } from "../core/did-you-mean.js";
import type { OptionTable } from "../core/options.js";
import { describeLimitProblem, findLimitProblem } from "./parsed-limits.js";
import { readUtf8 } from "./read-text.js";

/** `[variables.NAME]`. */
export const VARIABLE_OPTIONS = {
  type: {
    type: { enum: ["string", "number", "bool"] },
    default: "string",
    doc: "The value's type.",
    packer: "`variable { type }`",
  },
  default: {
    type: "string",
    doc: "Value when nothing else sets it. Without one, the variable is required.",
    packer: "`default`",
  },
  description: { type: "string", doc: "Free text for readers of the template.", packer: "`description`" },
  sensitive: {
    type: "boolean",
    default: false,
    doc: "Mask the value as `<sensitive>` in every output.",
    packer: "`sensitive`",
  },
} as const satisfies OptionTable;

export interface VariableInputs {
  /** Paths of TOML files with name = value lines. */
  varFiles?: string[];
  /** --var name=value, already split. */
  vars?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedVariable {
  value: string;
  sensitive: boolean;
}

/** Resolves every declared variable; reports undeclared inputs and required variables without a value. */
export function resolveVariables(
  declared: unknown,
  inputs: VariableInputs,
  baseDir: string,
  problems: Problem[],
): Map<string, ResolvedVariable> {
  const result = new Map<string, ResolvedVariable>();
  if (declared !== undefined && !isPlainTable(declared)) {
    problems.push({ path: ["variables"], message: "variables: expected tables like [variables.name]" });
    return result;
  }
  const specs = new Map<string, { value?: string; sensitive: boolean; type: string }>();
  for (const [name, raw] of Object.entries(declared ?? {})) {
    if (!isPlainTable(raw)) {
      // Packer JSON's "variables": {"name": "value"} written as [variables] name = "value".
      const example = ["string", "number", "boolean"].includes(typeof raw) ? JSON.stringify(String(raw)) : "...";
      const got = `${JSON.stringify(raw)} (${Array.isArray(raw) ? "list" : typeof raw})`;
      problems.push({
        path: ["variables", name],
        message: `variables.${name}: expected a table [variables.${name}] with default = ${example}, got ${got}`,
      });
      continue;
    }
    // Without a default the key must stay absent: an `undefined` value would be reported as a wrong type.
    const table = checkTable(
      raw.default === undefined ? raw : { ...raw, default: String(raw.default) },
      VARIABLE_OPTIONS,
      ["variables", name],
      baseDir,
      problems,
    );
    if (raw.default === undefined) delete table.default;
    specs.set(name, {
      ...(table.default === undefined ? {} : { value: table.default as string }),
      sensitive: table.sensitive === true,
      type: (table.type as string | undefined) ?? "string",
    });
  }
  const set = (name: string, value: string, from: string) => {
    const spec = specs.get(name);
    if (!spec) {
      const hint = closest(name, specs.keys());
      problems.push({
        path: [],
        message: `${from} sets "${name}", which the template does not declare${hint ? `; did you mean "${hint}"?` : ""}`,
      });
      return;
    }
    spec.value = value;
  };
  for (const file of inputs.varFiles ?? []) {
    for (const [name, value] of Object.entries(readVarFile(file, problems)))
      set(name, String(value), `--var-file ${file}`);
  }
  const env = inputs.env ?? {};
  for (const name of specs.keys()) {
    const value = env[`TSIMG_VAR_${name}`] ?? env[`PKR_VAR_${name}`];
    if (value !== undefined) specs.get(name)!.value = value;
  }
  for (const [name, value] of Object.entries(inputs.vars ?? {})) set(name, value, `--var ${name}=...`);

  for (const [name, spec] of specs) {
    if (spec.value === undefined) {
      problems.push({
        path: ["variables", name],
        message: `variable "${name}" has no value: give it a default, --var ${name}=..., or TSIMG_VAR_${name} in the environment`,
      });
      continue;
    }
    if (spec.type === "number" && !/^-?\d+(\.\d+)?$/.test(spec.value))
      problems.push({ path: ["variables", name], message: `variable "${name}" must be a number, got "${spec.value}"` });
    if (spec.type === "bool" && !/^(true|false)$/.test(spec.value))
      problems.push({
        path: ["variables", name],
        message: `variable "${name}" must be true or false, got "${spec.value}"`,
      });
    result.set(name, { value: spec.value, sensitive: spec.sensitive });
  }
  return result;
}

function readVarFile(file: string, problems: Problem[]): Record<string, unknown> {
  try {
    // A .json file is Packer's -var-file form: the same variables, as one JSON object.
    const text = readUtf8(readFileSync(file));
    const values = /\.json$/i.test(file) ? jsonObject(text) : TOML.parse(text);
    // As in a template: a BigInt or 5,000 levels of lists would crash what reads the values.
    const beyond = findLimitProblem(values);
    if (beyond) throw new Error(`${beyond.path.join(".")}: ${describeLimitProblem(beyond.problem)}`);
    return values;
  } catch (error) {
    problems.push({ path: [], message: `--var-file ${file}: ${(error as Error).message.split("\n")[0]}` });
    return {};
  }
}

function jsonObject(text: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error('expected a JSON object of "name": value');
  return parsed as Record<string, unknown>;
}
