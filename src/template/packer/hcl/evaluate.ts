// Evaluates an HCL expression tree (ast.ts) to a plain JavaScript value: strings, numbers,
// booleans, null, arrays (lists and tuples) and plain objects (maps and objects). Conversions
// follow HCL's: a number or a bool becomes a string where one is needed, and "5" a number.
import { closest } from "../../../core/did-you-mean.js";
import { BUILD_VALUES, REFUSED_BUILD_VALUES } from "../../../core/runtime-vars.js";
import { HclExpressionError, type Expr, type TemplatePart } from "./ast.js";

/** A function callable from expressions: gets evaluated arguments. */
export type HclFunction = (args: unknown[], scope: Scope) => unknown;

export interface Scope {
  /** Top-level names: var, local, path, source... and for-expression variables. */
  names: Record<string, unknown>;
  functions: Record<string, HclFunction>;
  /** Why a function is not available here (env() outside a variable default): name -> reason. */
  refused?: Record<string, string>;
}

/** Names real templates use that tsimg has no value for, and what to do instead. */
const UNKNOWN_NAME_WHY: Record<string, string> = {
  each: " (Terraform's, not Packer's)",
  self: " (Terraform's, not Packer's)",
};

/** build.ID, build.Host, build.SSHPrivateKey...: Packer's values of the running build. */
/** Why build.<Name> is not there: a run-time value outside provisioners, or one tsimg refuses. */
function buildRunTimeWhy(name: string): string {
  if (name in BUILD_VALUES)
    return ` (build.${name} is known only while the build runs: provisioners and post-processors can use it)`;
  const refused = REFUSED_BUILD_VALUES[name];
  return refused ? ` (build.${name} ${refused})` : "";
}

export function evaluate(expr: Expr, scope: Scope): unknown {
  switch (expr.kind) {
    case "literal":
      return expr.value;
    case "template":
      return renderParts(expr.parts, scope);
    case "variable": {
      if (!(expr.name in scope.names)) {
        const hint = closest(expr.name, Object.keys(scope.names));
        throw new HclExpressionError(
          `unknown name "${expr.name}"${hint ? `; did you mean "${hint}"?` : ""}${UNKNOWN_NAME_WHY[expr.name] ?? ""}`,
          expr.at,
        );
      }
      return scope.names[expr.name];
    }
    case "call":
      return call(expr, scope);
    case "tuple":
      return expr.items.map((item) => evaluate(item, scope));
    case "object": {
      const out: Record<string, unknown> = {};
      for (const { key, value } of expr.items)
        out[toStr(evaluate(key, scope), "an object key")] = evaluate(value, scope);
      return out;
    }
    case "getAttr":
      return getAttr(evaluate(expr.target, scope), expr.name, describe(expr.target), expr.at);
    case "index":
      return index(evaluate(expr.target, scope), evaluate(expr.key, scope), describe(expr.target), expr.at);
    case "splat": {
      const target = evaluate(expr.target, scope);
      const items = target === null ? [] : Array.isArray(target) ? target : [target];
      return items.map((item) => evaluate(expr.each, { ...scope, names: { ...scope.names, "[*]": item } }));
    }
    case "splatItem":
      return scope.names["[*]"];
    case "unary": {
      const value = evaluate(expr.operand, scope);
      return expr.op === "!" ? !toBool(value, '"!"') : -toNumber(value, 'unary "-"');
    }
    case "binary":
      return binary(expr, scope);
    case "conditional":
      return toBool(evaluate(expr.condition, scope), "a condition")
        ? evaluate(expr.then, scope)
        : evaluate(expr.else, scope);
    case "for":
      return forExpr(expr, scope);
  }
}

function call(expr: Extract<Expr, { kind: "call" }>, scope: Scope): unknown {
  // can() and try() look at their arguments' errors, so they get them unevaluated.
  if (expr.name === "can" || expr.name === "try") return tryEach(expr, scope);
  const refused = scope.refused?.[expr.name];
  if (refused) throw new HclExpressionError(`${expr.name}(): ${refused}`, expr.at);
  const fn = scope.functions[expr.name];
  if (!fn) {
    const hint = closest(expr.name, Object.keys(scope.functions));
    throw new HclExpressionError(
      `unknown function "${expr.name}()"${hint ? `; did you mean "${hint}()"?` : ""}`,
      expr.at,
    );
  }
  let args = expr.args.map((arg) => evaluate(arg, scope));
  if (expr.expandLast) {
    const last = args.pop();
    if (!Array.isArray(last)) throw new HclExpressionError(`${expr.name}(...): "..." needs a list`, expr.at);
    args = [...args, ...last];
  }
  try {
    return fn(args, scope);
  } catch (error) {
    if (error instanceof HclExpressionError && error.at === undefined)
      throw new HclExpressionError(`${expr.name}(): ${error.message}`, expr.at);
    throw error;
  }
}

function tryEach(expr: Extract<Expr, { kind: "call" }>, scope: Scope): unknown {
  if (expr.name === "can" && expr.args.length !== 1)
    throw new HclExpressionError(`can() takes 1 argument, got ${expr.args.length}`, expr.at);
  for (const arg of expr.args) {
    try {
      const value = evaluate(arg, scope);
      return expr.name === "can" ? true : value;
    } catch (error) {
      if (!(error instanceof HclExpressionError)) throw error;
    }
  }
  if (expr.name === "can") return false;
  throw new HclExpressionError("try(): no argument could be evaluated", expr.at);
}

function binary(expr: Extract<Expr, { kind: "binary" }>, scope: Scope): unknown {
  const { op } = expr;
  if (op === "||" || op === "&&") {
    // HCL evaluates both sides; short-circuiting keeps `a != null && a.b` working too.
    const left = toBool(evaluate(expr.left, scope), `"${op}"`);
    if (op === "||" ? left : !left) return left;
    return toBool(evaluate(expr.right, scope), `"${op}"`);
  }
  const left = evaluate(expr.left, scope);
  const right = evaluate(expr.right, scope);
  if (op === "==") return equal(left, right);
  if (op === "!=") return !equal(left, right);
  const a = toNumber(left, `"${op}"`);
  const b = toNumber(right, `"${op}"`);
  switch (op) {
    case "<":
      return a < b;
    case ">":
      return a > b;
    case "<=":
      return a <= b;
    case ">=":
      return a >= b;
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      if (b === 0) throw new HclExpressionError("division by zero", expr.at);
      return a / b;
    case "%":
      if (b === 0) throw new HclExpressionError("modulo by zero", expr.at);
      return a % b;
  }
}

/** A for's [key, value] pairs: a list's indexes, a map's keys in lexical order (as HCL). */
function entriesOf(collection: unknown, what: string): [unknown, unknown][] {
  if (Array.isArray(collection)) return collection.map((v, i) => [i, v]);
  if (isObject(collection))
    return Object.keys(collection)
      .sort()
      .map((k) => [k, collection[k]]);
  throw new HclExpressionError(`${what} needs a list or a map, got ${typeName(collection)}`);
}

function forExpr(expr: Extract<Expr, { kind: "for" }>, scope: Scope): unknown {
  const entries = entriesOf(evaluate(expr.collection, scope), "a for expression");
  const list: unknown[] = [];
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const names = { ...scope.names, [expr.valueVar]: value, ...(expr.keyVar ? { [expr.keyVar]: key } : {}) };
    const inner = { ...scope, names };
    if (expr.condition && !toBool(evaluate(expr.condition, inner), "a for expression's if")) continue;
    const result = evaluate(expr.value, inner);
    if (!expr.object) {
      list.push(result);
      continue;
    }
    const name = toStr(evaluate(expr.key as Expr, inner), "a for expression's key");
    if (expr.group) ((object[name] ??= []) as unknown[]).push(result);
    else if (name in object)
      throw new HclExpressionError(`duplicate key "${name}" in a for expression (add "..." to group values)`);
    else object[name] = result;
  }
  return expr.object ? object : list;
}

/** A template's parts as one string. */
function renderParts(parts: TemplatePart[], scope: Scope): string {
  let out = "";
  for (const part of parts) {
    if (part.kind === "text") out += part.text;
    else if (part.kind === "interp") out += toStr(evaluate(part.expr, scope), "a string template");
    else if (part.kind === "if")
      out += renderParts(toBool(evaluate(part.condition, scope), "%{ if }") ? part.then : part.else, scope);
    else {
      for (const [key, value] of entriesOf(evaluate(part.collection, scope), "%{ for }")) {
        const names = { ...scope.names, [part.valueVar]: value, ...(part.keyVar ? { [part.keyVar]: key } : {}) };
        out += renderParts(part.body, { ...scope, names });
      }
    }
  }
  return out;
}

function getAttr(target: unknown, name: string, what: string, at: number): unknown {
  if (!isObject(target)) throw new HclExpressionError(`${what} is ${typeName(target)}: it has no ".${name}"`, at);
  if (!(name in target)) {
    const hint = closest(name, Object.keys(target));
    const runTime = what === "build" ? buildRunTimeWhy(name) : "";
    throw new HclExpressionError(`${what} has no "${name}"${hint ? `; did you mean "${hint}"?` : ""}${runTime}`, at);
  }
  return target[name];
}

function index(target: unknown, key: unknown, what: string, at: number): unknown {
  if (Array.isArray(target)) {
    const i = toNumber(key, "a list index");
    if (!Number.isInteger(i) || i < 0 || i >= target.length)
      throw new HclExpressionError(`${what}[${i}]: index out of range (the list has ${target.length} items)`, at);
    return target[i];
  }
  if (isObject(target)) return getAttr(target, toStr(key, "a map key"), what, at);
  throw new HclExpressionError(`${what} is ${typeName(target)}: it cannot be indexed`, at);
}

/** "var.x" for a traversal, or "the value" for anything else, for messages. */
function describe(expr: Expr): string {
  if (expr.kind === "variable") return expr.name;
  if (expr.kind === "getAttr") return `${describe(expr.target)}.${expr.name}`;
  if (expr.kind === "index" && expr.key.kind === "literal")
    return `${describe(expr.target)}[${JSON.stringify(expr.key.value)}]`;
  return "the value";
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (isObject(value)) return "a map";
  return `a ${typeof value}`;
}

/** HCL's conversion to string: numbers and bools convert; null, lists and maps do not. */
export function toStr(value: unknown, where: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new HclExpressionError(`${where} needs a string, got ${typeName(value)}`);
}

export function toNumber(value: unknown, where: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value)) return Number(value);
  throw new HclExpressionError(
    `${where} needs a number, got ${typeName(value)}${typeof value === "string" ? ` "${value}"` : ""}`,
  );
}

export function toBool(value: unknown, where: string): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw new HclExpressionError(`${where} needs a bool, got ${typeName(value)}`);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
