// Evaluating hcl2json's values: every string is an HCL template ("${var.x}-y"), lists and
// maps hold more of them. Errors become ConfigErrors at the attribute's file:line:col.
import { ConfigError } from "../../core/errors.js";
import { HclExpressionError } from "./hcl/ast.js";
import { evaluate, type Scope } from "./hcl/evaluate.js";
import { parseTemplate } from "./hcl/parse.js";

/** Where something is written. */
export interface Located {
  file: string;
  line?: number;
  column?: number;
}

/** A value as hcl2json gives it, evaluated. Throws HclExpressionError. */
export function evaluateJsonValue(value: unknown, scope: Scope): unknown {
  if (typeof value === "string") return evaluate(parseTemplate(value), scope);
  if (Array.isArray(value)) return value.map((v) => evaluateJsonValue(v, scope));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = evaluateJsonValue(k, scope);
      if (typeof key !== "string" && typeof key !== "number")
        throw new HclExpressionError("a map key must be a string");
      out[String(key)] = evaluateJsonValue(v, scope);
    }
    return out;
  }
  return value;
}

/** evaluateJsonValue, with an error turned into a ConfigError naming the attribute and where it is. */
export function evaluateAttribute(value: unknown, scope: Scope, name: string, at: Located): unknown {
  try {
    return evaluateJsonValue(value, scope);
  } catch (error) {
    if (!(error instanceof HclExpressionError)) throw error;
    throw new ConfigError(`${name}: ${error.message}`, at);
  }
}
