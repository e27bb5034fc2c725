// A parser for HCL's expression and template language, as hcl2json hands it back: every
// attribute that is not a plain literal comes out as a string template ("${var.x}-y",
// "%{ if c }a%{ endif }"), which this turns into a tree (ast.ts). Precedence and syntax as
// in HCL's native syntax spec (hashicorp/hcl, hclsyntax/spec.md). hcl2json has already
// checked the file's syntax; the errors here are for expressions it kept as text.
import { HclExpressionError, type BinaryOp, type Expr, type TemplatePart } from "./ast.js";
import { nest, type Token } from "./template-nesting.js";

/** Parses template content (no surrounding quotes): literal text with ${...} and %{...}. */
export function parseTemplate(text: string): Expr {
  const parser = new Parser(text);
  const parts = parser.templateParts("bare");
  return simplify(parts);
}

/** Parses one expression (`var.a + 1`, `[for s in x : s]`). */
export function parseExpression(text: string): Expr {
  const parser = new Parser(text);
  const expr = parser.expression();
  parser.skipSpace();
  if (parser.pos < text.length) parser.fail(`unexpected "${text.slice(parser.pos, parser.pos + 10)}"`);
  return expr;
}

/** A template that is just "${expr}" yields expr's own value (a list stays a list), as in HCL. */
function simplify(parts: TemplatePart[]): Expr {
  if (parts.length === 1 && parts[0]?.kind === "interp") return parts[0].expr;
  if (parts.every((p) => p.kind === "text")) return { kind: "literal", value: parts.map((p) => p.text).join("") };
  return { kind: "template", parts };
}

const BINARY_LEVELS: BinaryOp[][] = [["||"], ["&&"], ["==", "!="], ["<", ">", "<=", ">="], ["+", "-"], ["*", "/", "%"]];
const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(message: string, at = this.pos): never {
    throw new HclExpressionError(message, at);
  }

  // ---- templates

  /** Reads template parts up to the end ("bare") or the closing quote ("quoted"). */
  templateParts(mode: "bare" | "quoted"): TemplatePart[] {
    const tokens: Token[] = [];
    let text = "";
    let stripNext = false;
    const flush = () => {
      const kept = stripNext ? text.trimStart() : text;
      stripNext = false;
      if (kept !== "") tokens.push({ kind: "text", text: kept });
      text = "";
    };
    const src = this.src;
    while (this.pos < src.length) {
      const ch = src[this.pos] as string;
      if (mode === "quoted" && ch === '"') break;
      if (mode === "quoted" && ch === "\\") {
        text += this.escape();
        continue;
      }
      if ((ch === "$" || ch === "%") && src[this.pos + 1] === ch && src[this.pos + 2] === "{") {
        text += `${ch}{`; // $${ and %%{ are literal
        this.pos += 3;
        continue;
      }
      if ((ch === "$" || ch === "%") && src[this.pos + 1] === "{") {
        const at = this.pos;
        this.pos += 2;
        if (src[this.pos] === "~") {
          this.pos++;
          text = text.trimEnd();
        }
        flush();
        const token = ch === "$" ? { kind: "interp" as const, expr: this.expression() } : this.directive(at);
        this.skipSpace();
        if (src[this.pos] === "~") {
          this.pos++;
          stripNext = true;
        }
        if (src[this.pos] !== "}") this.fail(`expected "}" to close "${ch}{"`);
        this.pos++;
        tokens.push(token);
        continue;
      }
      text += ch;
      this.pos++;
    }
    if (mode === "quoted" && src[this.pos] !== '"') this.fail("unterminated string");
    if (mode === "quoted") this.pos++;
    flush();
    const parts = nest(tokens, 0, []);
    if (parts.next < tokens.length) {
      const stray = tokens[parts.next] as Extract<Token, { kind: "directive" }>;
      this.fail(`"%{ ${stray.word} }" without its opening directive`, stray.at);
    }
    return parts.parts;
  }

  private escape(): string {
    const next = this.src[this.pos + 1] ?? "";
    if (next in ESCAPES) {
      this.pos += 2;
      return ESCAPES[next] as string;
    }
    const hex = next === "u" ? 4 : next === "U" ? 8 : 0;
    const digits = this.src.slice(this.pos + 2, this.pos + 2 + hex);
    if (hex === 0 || !/^[0-9a-fA-F]+$/.test(digits) || digits.length !== hex)
      this.fail(`invalid escape "\\${next}" in a string`);
    this.pos += 2 + hex;
    return String.fromCodePoint(parseInt(digits, 16));
  }

  private directive(at: number): Token {
    this.skipSpace();
    const word = this.identifier();
    if (word === "if") return { kind: "directive", word, expr: this.expression(), at };
    if (word === "for") return { kind: "directive", word, ...this.forVariables(), expr: this.expression(), at };
    if (word === "else" || word === "endif" || word === "endfor") return { kind: "directive", word, at };
    return this.fail(`unknown template directive "%{ ${word} }"`, at);
  }

  // ---- expressions

  expression(): Expr {
    const condition = this.binary(0);
    if (!this.eat("?")) return condition;
    const then = this.expression();
    if (!this.eat(":")) this.fail('expected ":" in a conditional (a ? b : c)');
    return { kind: "conditional", condition, then, else: this.expression() };
  }

  private binary(level: number): Expr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      this.skipSpace();
      const at = this.pos;
      const op = (BINARY_LEVELS[level] as BinaryOp[])
        .filter((o) => this.src.startsWith(o, this.pos))
        .sort((a, b) => b.length - a.length)[0];
      // The longest operator wins ("<=" over "<"); "<<" starts a heredoc, not a comparison.
      if (!op || (op === "<" && this.src[this.pos + 1] === "<")) return left;
      this.pos += op.length;
      left = { kind: "binary", op, left, right: this.binary(level + 1), at };
    }
  }

  private unary(): Expr {
    this.skipSpace();
    const ch = this.src[this.pos];
    if (ch === "!" || (ch === "-" && !/\d/.test(this.src[this.pos + 1] ?? ""))) {
      this.pos++;
      return { kind: "unary", op: ch, operand: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(target: Expr): Expr {
    for (;;) {
      this.skipSpace();
      const at = this.pos;
      if (this.src.startsWith(".*", this.pos) || this.src.startsWith("[*]", this.pos)) {
        this.pos += this.src[this.pos] === "." ? 2 : 3;
        return { kind: "splat", target, each: this.splatTraversals({ kind: "splatItem" }) };
      }
      if (this.src[this.pos] === "." && !this.src.startsWith("...", this.pos)) {
        this.pos++;
        const number = /^\d+/.exec(this.src.slice(this.pos))?.[0];
        if (number !== undefined) {
          this.pos += number.length;
          target = { kind: "index", target, key: { kind: "literal", value: Number(number) }, at };
        } else target = { kind: "getAttr", target, name: this.identifier(), at };
      } else if (this.src[this.pos] === "[") {
        this.pos++;
        const key = this.expression();
        if (!this.eat("]")) this.fail('expected "]"');
        target = { kind: "index", target, key, at };
      } else return target;
    }
  }

  /** The attribute and index steps after a splat, applied to each element. */
  private splatTraversals(item: Expr): Expr {
    const before = this.pos;
    const result = this.postfix(item);
    return this.pos === before ? item : result;
  }

  private primary(): Expr {
    this.skipSpace();
    const src = this.src;
    const ch = src[this.pos];
    const start = this.pos;
    if (ch === undefined) return this.fail("expected an expression, found the end");
    if (ch === '"') {
      this.pos++;
      return simplify(this.templateParts("quoted"));
    }
    if (src.startsWith("<<", this.pos)) return this.heredoc();
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(this.pos));
    if (number) {
      this.pos += number[0].length;
      return { kind: "literal", value: Number(number[0]) };
    }
    if (ch === "(") {
      this.pos++;
      const inner = this.expression();
      if (!this.eat(")")) this.fail('expected ")"');
      return inner;
    }
    if (ch === "[") return this.tupleOrFor();
    if (ch === "{") return this.objectOrFor();
    const name = this.identifier();
    if (name === "true" || name === "false") return { kind: "literal", value: name === "true" };
    if (name === "null") return { kind: "literal", value: null };
    this.skipSpace();
    if (src[this.pos] === "(") {
      this.pos++;
      // Provider-namespaced names (core::file) are not Packer's.
      const args: Expr[] = [];
      let expandLast = false;
      while (!this.eat(")")) {
        args.push(this.expression());
        if (this.eat("...")) expandLast = true;
        if (!this.eat(",") && (this.skipSpace(), src[this.pos] !== ")"))
          this.fail(`expected "," or ")" in the arguments of ${name}()`);
      }
      return { kind: "call", name, args, expandLast, at: start };
    }
    return { kind: "variable", name, at: start };
  }

  private heredoc(): Expr {
    const header = /^<<(-?)([A-Za-z_][\w-]*)\r?\n/.exec(this.src.slice(this.pos));
    if (!header) return this.fail("expected a heredoc: <<EOT or <<-EOT then a new line");
    const bodyStart = this.pos + header[0].length;
    const end = new RegExp(`^[ \\t]*${header[2]}[ \\t]*$`, "m");
    const rest = this.src.slice(bodyStart);
    const close = end.exec(rest);
    if (!close) return this.fail(`heredoc without its closing "${header[2]}" line`);
    let body = rest.slice(0, close.index);
    if (header[1] === "-") {
      const lines = body.split("\n");
      const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)?.[0].length ?? 0));
      body = lines.map((l) => l.slice(Math.min(indent, l.length))).join("\n");
    }
    this.pos = bodyStart + close.index + close[0].length;
    return parseTemplate(body);
  }

  private tupleOrFor(): Expr {
    this.pos++;
    if (this.peekWord("for")) return this.forExpr(false);
    const items: Expr[] = [];
    while (!this.eat("]")) {
      items.push(this.expression());
      if (!this.eat(",") && (this.skipSpace(), this.src[this.pos] !== "]")) this.fail('expected "," or "]" in a list');
    }
    return { kind: "tuple", items };
  }

  private objectOrFor(): Expr {
    this.pos++;
    if (this.peekWord("for")) return this.forExpr(true);
    const items: { key: Expr; value: Expr }[] = [];
    while (!this.eat("}")) {
      this.skipSpace();
      // A bare name is the key itself, not a variable; (expr) is an expression key.
      const bare = /^[A-Za-z_][\w-]*/.exec(this.src.slice(this.pos));
      let key: Expr;
      if (bare && /^\s*[=:]/.test(this.src.slice(this.pos + bare[0].length))) {
        this.pos += bare[0].length;
        key = { kind: "literal", value: bare[0] };
      } else key = this.expression();
      if (!this.eat("=") && !this.eat(":")) this.fail('expected "=" or ":" after an object key');
      items.push({ key, value: this.expression() });
      this.eat(",");
    }
    return { kind: "object", items };
  }

  /** `k, v in` or `v in` of a for: the names, up to the collection. */
  private forVariables(): { keyVar?: string; valueVar: string } {
    const first = (this.skipSpace(), this.identifier());
    let keyVar: string | undefined;
    let valueVar = first;
    if (this.eat(",")) {
      keyVar = first;
      valueVar = (this.skipSpace(), this.identifier());
    }
    this.expectWord("in");
    return { ...(keyVar === undefined ? {} : { keyVar }), valueVar };
  }

  private forExpr(object: boolean): Expr {
    this.expectWord("for");
    const { keyVar, valueVar } = this.forVariables();
    const collection = this.expression();
    if (!this.eat(":")) this.fail('expected ":" in a for expression');
    let key: Expr | undefined;
    let value = this.expression();
    if (object) {
      if (!this.eat("=>")) this.fail('expected "=>" in a {for ...} expression');
      key = value;
      value = this.expression();
    }
    const group = object && this.eat("...");
    let condition: Expr | undefined;
    if (this.peekWord("if")) {
      this.expectWord("if");
      condition = this.expression();
    }
    if (!this.eat(object ? "}" : "]")) this.fail(`expected "${object ? "}" : "]"}" to close the for expression`);
    return { kind: "for", object, keyVar, valueVar, collection, key, value, condition, group };
  }

  // ---- tokens

  identifier(): string {
    const match = /^[A-Za-z_][\w-]*/.exec(this.src.slice(this.pos));
    if (!match) return this.fail(`expected a name, found "${this.src.slice(this.pos, this.pos + 10)}"`);
    this.pos += match[0].length;
    return match[0];
  }

  private peekWord(word: string): boolean {
    this.skipSpace();
    return new RegExp(`^${word}\\b`).test(this.src.slice(this.pos));
  }

  private expectWord(word: string): void {
    if (!this.peekWord(word)) this.fail(`expected "${word}"`);
    this.pos += word.length;
  }

  eat(symbol: string): boolean {
    this.skipSpace();
    if (!this.src.startsWith(symbol, this.pos)) return false;
    this.pos += symbol.length;
    return true;
  }

  /** Skips white space, new lines and comments (# ..., // ..., /* ... *\/). */
  skipSpace(): void {
    for (;;) {
      const rest = this.src.slice(this.pos);
      const space = /^(\s+|#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
      if (!space) return;
      this.pos += space[0].length;
    }
  }
}
