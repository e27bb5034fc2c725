// The syntax tree of an HCL expression or string template, as parse.ts builds it and
// evaluate.ts walks it. Offsets are into the text parsed, for error messages.

export type Expr =
  | { kind: "literal"; value: unknown }
  | { kind: "template"; parts: TemplatePart[] }
  | { kind: "variable"; name: string; at: number }
  | { kind: "call"; name: string; args: Expr[]; expandLast: boolean; at: number }
  | { kind: "tuple"; items: Expr[] }
  | { kind: "object"; items: { key: Expr; value: Expr }[] }
  | { kind: "getAttr"; target: Expr; name: string; at: number }
  | { kind: "index"; target: Expr; key: Expr; at: number }
  | { kind: "splat"; target: Expr; each: Expr }
  /** The element inside a splat's `each`. */
  | { kind: "splatItem" }
  | { kind: "unary"; op: "!" | "-"; operand: Expr }
  | { kind: "binary"; op: BinaryOp; left: Expr; right: Expr; at: number }
  | { kind: "conditional"; condition: Expr; then: Expr; else: Expr }
  | {
      kind: "for";
      object: boolean;
      keyVar?: string;
      valueVar: string;
      collection: Expr;
      key?: Expr;
      value: Expr;
      condition?: Expr;
      group: boolean;
    };

export type BinaryOp = "||" | "&&" | "==" | "!=" | "<" | ">" | "<=" | ">=" | "+" | "-" | "*" | "/" | "%";

/** A piece of a string template: text, `${expr}`, `%{ if }`, `%{ for }`. */
export type TemplatePart =
  | { kind: "text"; text: string }
  | { kind: "interp"; expr: Expr }
  | { kind: "if"; condition: Expr; then: TemplatePart[]; else: TemplatePart[] }
  | { kind: "for"; keyVar?: string; valueVar: string; collection: Expr; body: TemplatePart[] };

/** A syntax or evaluation error; `at` is an offset into the text parsed, when known. */
export class HclExpressionError extends Error {
  constructor(
    message: string,
    readonly at?: number,
  ) {
    super(message);
  }
}
