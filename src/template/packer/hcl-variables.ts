// Packer HCL2 `variable` blocks and their values, with Packer 1.9's precedence, lowest
// first: default, PKR_VAR_name (or tsimg's TSIMG_VAR_name), *.auto.pkrvars.hcl (name order),
// -var-file (in order: .pkrvars.hcl or .json), -var. Then each value is converted to the
// variable's type and its validation blocks are checked.
import { readFileSync } from "node:fs";
import { ConfigError, ConfigErrors } from "../../core/errors.js";
import type { ResolvedVariable } from "../variables.js";
import { evaluateJsonValue, type Located } from "./hcl-evaluate.js";
import { readHclFiles, shownPath, type HclSourceFile } from "./hcl-files.js";
import { convert, describeType, isTextType, type HclType } from "./hcl-types.js";
import { evaluate, type Scope } from "./hcl/evaluate.js";
import { parseExpression } from "./hcl/parse.js";
import type { PackerInputs } from "./inputs.js";

export interface VariableDecl {
  name: string;
  type?: HclType;
  /** Evaluated already (env() allowed). */
  default?: unknown;
  hasDefault: boolean;
  sensitive: boolean;
  description?: string;
  validations: { condition: string; errorMessage: string; at: Located }[];
  at: Located;
}

export interface PackerVariables {
  values: Record<string, unknown>;
  resolved: Map<string, ResolvedVariable>;
  /** Where each value came from: "its default", a *.auto.pkrvars.hcl file, "-var-file x", "-var x", "PKR_VAR_x". */
  setBy: Map<string, string>;
}

/** Values of every declared variable; throws ConfigErrors listing every problem. */
export function resolvePackerVariables(
  decls: VariableDecl[],
  autoVarFiles: HclSourceFile[],
  inputs: PackerInputs,
  baseScope: Scope,
  warnings: ConfigError[],
): PackerVariables {
  const errors: ConfigError[] = [];
  const byName = new Map(decls.map((d) => [d.name, d]));
  const given = new Map<string, { value: unknown; from: string; at?: Located }>();
  for (const d of decls) if (d.hasDefault) given.set(d.name, { value: d.default, from: "its default", at: d.at });

  const fromText = (name: string, text: string, from: string) => {
    const decl = byName.get(name);
    if (!decl) return;
    if (isTextType(decl.type)) return given.set(name, { value: text, from });
    try {
      given.set(name, { value: evaluate(parseExpression(text), baseScope), from });
    } catch (error) {
      errors.push(
        new ConfigError(
          `${from}: variable "${name}" (${describeType(decl.type as HclType)}): ${(error as Error).message}`,
        ),
      );
    }
  };
  const env = inputs.env ?? process.env;
  for (const d of decls) {
    const text = env[`TSIMG_VAR_${d.name}`] ?? env[`PKR_VAR_${d.name}`];
    if (text !== undefined) fromText(d.name, text, `PKR_VAR_${d.name}`);
  }
  const fromFile = (values: Record<string, { value: unknown; at?: Located }>, from: string) => {
    for (const [name, { value, at }] of Object.entries(values)) {
      if (!byName.has(name)) {
        warnings.push(
          new ConfigError(
            `${from} sets "${name}", which the template does not declare (ignored, as Packer does)`,
            at ?? {},
          ),
        );
        continue;
      }
      given.set(name, { value, from, ...(at ? { at } : {}) });
    }
  };
  for (const file of autoVarFiles) fromFile(pkrvarsValues(file, baseScope, errors), file.shown);
  for (const path of inputs.varFiles ?? []) fromFile(readVarFile(path, baseScope, errors), `-var-file ${path}`);
  for (const [name, text] of Object.entries(inputs.vars ?? {})) {
    if (!byName.has(name)) {
      errors.push(new ConfigError(`-var ${name}=...: the template declares no variable "${name}"`));
      continue;
    }
    fromText(name, text, `-var ${name}`);
  }

  const values: Record<string, unknown> = {};
  const resolved = new Map<string, ResolvedVariable>();
  for (const d of decls) {
    const value = given.get(d.name);
    if (!value) {
      errors.push(
        new ConfigError(
          `variable "${d.name}" has no value: give it a default, -var ${d.name}=..., -var-file, or PKR_VAR_${d.name}`,
          d.at,
        ),
      );
      continue;
    }
    try {
      values[d.name] = d.type ? convert(value.value, d.type) : value.value;
    } catch (error) {
      errors.push(
        new ConfigError(`variable "${d.name}" from ${value.from}: ${(error as Error).message}`, value.at ?? d.at),
      );
      continue;
    }
    const shown = values[d.name];
    resolved.set(d.name, { value: typeof shown === "string" ? shown : JSON.stringify(shown), sensitive: d.sensitive });
  }
  if (errors.length === 0) checkValidations(decls, values, baseScope, errors);
  if (errors.length > 0) throw new ConfigErrors(errors);
  return { values, resolved, setBy: new Map([...given].map(([name, g]) => [name, g.from])) };
}

/** A variable's `validation` blocks: the condition sees only var.<that variable>, as in Packer. */
function checkValidations(
  decls: VariableDecl[],
  values: Record<string, unknown>,
  base: Scope,
  errors: ConfigError[],
): void {
  for (const d of decls) {
    for (const v of d.validations) {
      const scope = { ...base, names: { ...base.names, var: { [d.name]: values[d.name] } } };
      let ok: unknown;
      try {
        ok = evaluate(parseExpression(stripWrap(v.condition)), scope);
      } catch (error) {
        errors.push(new ConfigError(`variable "${d.name}": validation condition: ${(error as Error).message}`, v.at));
        continue;
      }
      if (ok !== true) errors.push(new ConfigError(`variable "${d.name}": ${v.errorMessage}`, v.at));
    }
  }
}

/** "${expr}" (hcl2json's form of an expression) -> "expr". */
export function stripWrap(text: string): string {
  const match = /^\$\{([\s\S]*)\}$/.exec(text);
  return match ? (match[1] as string) : JSON.stringify(text);
}

/** A .pkrvars.hcl file's name = value lines, evaluated (functions, no variables). */
function pkrvarsValues(
  file: HclSourceFile,
  scope: Scope,
  errors: ConfigError[],
): Record<string, { value: unknown; at?: Located }> {
  const out: Record<string, { value: unknown; at?: Located }> = {};
  for (const attribute of file.outline.attributes) {
    const at = { file: file.shown, line: attribute.line, column: attribute.column };
    try {
      out[attribute.name] = { value: evaluateJsonValue(file.json[attribute.name], scope), at };
    } catch (error) {
      errors.push(new ConfigError(`${attribute.name}: ${(error as Error).message}`, at));
    }
  }
  for (const block of file.outline.blocks)
    errors.push(
      new ConfigError(`a variables file holds name = value lines only, not blocks ("${block.type}")`, {
        file: file.shown,
        line: block.line,
        column: block.column,
      }),
    );
  return out;
}

function readVarFile(
  path: string,
  scope: Scope,
  errors: ConfigError[],
): Record<string, { value: unknown; at?: Located }> {
  if (/\.json$/i.test(path)) {
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("expected an object of name: value");
      return Object.fromEntries(
        Object.entries(parsed).map(([k, value]) => [k, { value, at: { file: shownPath(path) } }]),
      );
    } catch (error) {
      errors.push(new ConfigError(`-var-file: ${(error as Error).message.split("\n")[0]}`, { file: shownPath(path) }));
      return {};
    }
  }
  try {
    const [file] = readHclFiles([path]);
    return file ? pkrvarsValues(file, scope, errors) : {};
  } catch (error) {
    if (!(error instanceof ConfigErrors)) throw error;
    errors.push(...error.errors);
    return {};
  }
}
