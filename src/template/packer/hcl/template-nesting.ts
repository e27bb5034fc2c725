// A string template's flat pieces (text, ${...}, %{ if }, %{ else }, %{ endif }, %{ for },
// %{ endfor }) nested into if and for parts, with a located error for a directive left open
// or closed without its opening.
import { HclExpressionError, type Expr, type TemplatePart } from "./ast.js";

export type Token =
  | { kind: "text"; text: string }
  | { kind: "interp"; expr: Expr }
  | { kind: "directive"; word: string; expr?: Expr; keyVar?: string; valueVar?: string; at: number };

export /** Turns the flat tokens into nested if/for parts; stops at an else/endif/endfor it does not own. */
function nest(tokens: Token[], from: number, stopAt: string[]): { parts: TemplatePart[]; next: number } {
  const parts: TemplatePart[] = [];
  let i = from;
  while (i < tokens.length) {
    const token = tokens[i] as Token;
    if (token.kind !== "directive") {
      parts.push(token);
      i++;
      continue;
    }
    if (stopAt.includes(token.word)) return { parts, next: i };
    if (token.word === "if") {
      const then = nest(tokens, i + 1, ["else", "endif"]);
      let elseParts: TemplatePart[] = [];
      let next = then.next;
      if ((tokens[next] as Extract<Token, { kind: "directive" }> | undefined)?.word === "else") {
        const other = nest(tokens, next + 1, ["endif"]);
        elseParts = other.parts;
        next = other.next;
      }
      if ((tokens[next] as Extract<Token, { kind: "directive" }> | undefined)?.word !== "endif")
        throw new HclExpressionError('"%{ if }" without its "%{ endif }"', token.at);
      parts.push({ kind: "if", condition: token.expr as Expr, then: then.parts, else: elseParts });
      i = next + 1;
    } else if (token.word === "for") {
      const body = nest(tokens, i + 1, ["endfor"]);
      if ((tokens[body.next] as Extract<Token, { kind: "directive" }> | undefined)?.word !== "endfor")
        throw new HclExpressionError('"%{ for }" without its "%{ endfor }"', token.at);
      parts.push({
        kind: "for",
        ...(token.keyVar === undefined ? {} : { keyVar: token.keyVar }),
        valueVar: token.valueVar as string,
        collection: token.expr as Expr,
        body: body.parts,
      });
      i = body.next + 1;
    } else return { parts, next: i };
  }
  return { parts, next: i };
}
