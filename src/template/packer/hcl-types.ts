// HCL type constraints (`type = list(string)`) and conversion of a value to one, as Packer
// converts a variable's value: "5" is a number where one is wanted, a list is not a string.
import { HclExpressionError, type Expr } from "./hcl/ast.js";
import { isObject, toBool, toNumber, toStr, typeName } from "./hcl/evaluate.js";
import { parseTemplate } from "./hcl/parse.js";

export type HclType =
  | { kind: "string" | "number" | "bool" | "any" }
  | { kind: "list" | "set" | "map"; element: HclType }
  | { kind: "object"; attributes: Record<string, HclType> }
  | { kind: "tuple"; elements: HclType[] };

/** The type written as hcl2json gives it ("${list(string)}"). */
export function parseType(written: unknown): HclType {
  if (typeof written !== "string") throw new HclExpressionError("a type such as string, number, bool, list(string)");
  return typeOf(parseTemplate(written));
}

function typeOf(expr: Expr): HclType {
  if (expr.kind === "variable" && ["string", "number", "bool", "any"].includes(expr.name))
    return { kind: expr.name as "string" | "number" | "bool" | "any" };
  if (expr.kind === "call") {
    const [arg] = expr.args;
    if (["list", "set", "map"].includes(expr.name) && arg && expr.args.length === 1)
      return { kind: expr.name as "list" | "set" | "map", element: typeOf(arg) };
    if (expr.name === "object" && arg?.kind === "object")
      return {
        kind: "object",
        attributes: Object.fromEntries(
          arg.items.map(({ key, value }) => [key.kind === "literal" ? String(key.value) : "?", typeOf(value)]),
        ),
      };
    if (expr.name === "tuple" && arg?.kind === "tuple") return { kind: "tuple", elements: arg.items.map(typeOf) };
    if (expr.name === "optional" && arg) return typeOf(arg);
  }
  throw new HclExpressionError(
    "not a type: use string, number, bool, any, list(...), set(...), map(...), object({...}), tuple([...])",
  );
}

/** The type as written, for messages. */
export function describeType(type: HclType): string {
  switch (type.kind) {
    case "list":
    case "set":
    case "map":
      return `${type.kind}(${describeType(type.element)})`;
    case "object":
      return `object({${Object.entries(type.attributes)
        .map(([k, t]) => `${k} = ${describeType(t)}`)
        .join(", ")}})`;
    case "tuple":
      return `tuple([${type.elements.map(describeType).join(", ")}])`;
    default:
      return type.kind;
  }
}

/** The value converted to the type; throws HclExpressionError saying what did not fit. */
export function convert(value: unknown, type: HclType): unknown {
  if (value === null) return null;
  switch (type.kind) {
    case "any":
      return value;
    case "string":
      return toStr(value, "a string variable");
    case "number":
      return toNumber(value, "a number variable");
    case "bool":
      return toBool(value, "a bool variable");
    case "list":
    case "set": {
      if (!Array.isArray(value)) throw new HclExpressionError(`expected ${describeType(type)}, got ${typeName(value)}`);
      const items = value.map((v) => convert(v, type.element));
      return type.kind === "set" ? [...new Map(items.map((v) => [JSON.stringify(v), v])).values()] : items;
    }
    case "map": {
      if (!isObject(value)) throw new HclExpressionError(`expected ${describeType(type)}, got ${typeName(value)}`);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, type.element)]));
    }
    case "object": {
      if (!isObject(value)) throw new HclExpressionError(`expected ${describeType(type)}, got ${typeName(value)}`);
      return Object.fromEntries(
        Object.entries(type.attributes).map(([k, t]) => [k, k in value ? convert(value[k], t) : null]),
      );
    }
    case "tuple": {
      if (!Array.isArray(value) || value.length !== type.elements.length)
        throw new HclExpressionError(`expected ${describeType(type)}, got ${typeName(value)}`);
      return value.map((v, i) => convert(v, type.elements[i] as HclType));
    }
  }
}

/** Whether a value given as text (-var, PKR_VAR_) is converted as is (string, number, bool) or parsed as an HCL expression (lists, maps). */
export function isTextType(type: HclType | undefined): boolean {
  return type === undefined || ["string", "number", "bool", "any"].includes(type.kind);
}
