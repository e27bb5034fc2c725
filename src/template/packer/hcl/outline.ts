// Where each block and attribute of an HCL file is, in the order written, with the comments
// above it. hcl2json gives values only, grouped by block type (so the order of a build's
// `provisioner "shell"` and `provisioner "file"` blocks is lost); this scan of the text
// gives back the order, file:line:col for messages, and comments for `tsimg import`.
// hcl2json has checked the syntax already, so this only needs to find its way.

export interface OutlineAttribute {
  name: string;
  line: number;
  column: number;
  /** Comment lines directly above it (without # or //). */
  comments: string[];
}

export interface OutlineBlock {
  type: string;
  labels: string[];
  line: number;
  column: number;
  comments: string[];
  attributes: OutlineAttribute[];
  blocks: OutlineBlock[];
}

/** The file as a block of type "" holding its top-level blocks and attributes. */
export function outlineHcl(text: string): OutlineBlock {
  const scanner = new Scanner(text);
  const root: OutlineBlock = { type: "", labels: [], line: 1, column: 1, comments: [], attributes: [], blocks: [] };
  scanner.body(root);
  return root;
}

class Scanner {
  private pos = 0;
  private comments: string[] = [];
  constructor(private readonly src: string) {}

  private where(at = this.pos): { line: number; column: number } {
    const before = this.src.slice(0, at);
    const line = before.split("\n").length;
    return { line, column: at - before.lastIndexOf("\n") };
  }

  body(block: OutlineBlock): void {
    const src = this.src;
    while (this.pos < src.length) {
      this.gap();
      const ch = src[this.pos];
      if (ch === undefined) return;
      if (ch === "}") {
        this.pos++;
        return;
      }
      const name = /^[A-Za-z_][\w-]*/.exec(src.slice(this.pos))?.[0];
      if (!name) {
        this.pos++;
        continue;
      }
      const at = this.where();
      const comments = this.comments;
      this.comments = [];
      this.pos += name.length;
      this.spaces();
      if (src[this.pos] === "=" && src[this.pos + 1] !== "=") {
        this.pos++;
        block.attributes.push({ name, ...at, comments });
        this.expression("\n");
        continue;
      }
      const labels: string[] = [];
      while (this.pos < src.length && src[this.pos] !== "{") {
        this.spaces();
        if (src[this.pos] === '"') {
          const start = this.pos;
          this.string();
          labels.push(JSON.parse(src.slice(start, this.pos)) as string);
        } else {
          const label = /^[A-Za-z_][\w-]*/.exec(src.slice(this.pos))?.[0];
          if (!label) break;
          labels.push(label);
          this.pos += label.length;
        }
        this.spaces();
      }
      this.pos++; // "{"
      const child: OutlineBlock = { type: name, labels, ...at, comments, attributes: [], blocks: [] };
      block.blocks.push(child);
      this.body(child);
    }
  }

  /** White space, new lines and comments; comments directly above the next item are kept. */
  private gap(): void {
    for (;;) {
      const rest = this.src.slice(this.pos);
      const space = /^[ \t\r]+/.exec(rest);
      if (space) {
        this.pos += space[0].length;
        continue;
      }
      if (rest.startsWith("\n")) {
        this.pos++;
        if (/^[ \t\r]*\n/.test(this.src.slice(this.pos))) this.comments = []; // a blank line parts them
        continue;
      }
      const line = /^(#|\/\/)[^\n]*/.exec(rest);
      if (line) {
        this.comments.push(line[0].replace(/^(#|\/\/) ?/, ""));
        this.pos += line[0].length;
        continue;
      }
      const block = /^\/\*[\s\S]*?\*\//.exec(rest);
      if (block) {
        this.comments.push(
          ...block[0]
            .slice(2, -2)
            .trim()
            .split("\n")
            .map((l) => l.trim()),
        );
        this.pos += block[0].length;
        continue;
      }
      return;
    }
  }

  private spaces(): void {
    while (this.src[this.pos] === " " || this.src[this.pos] === "\t") this.pos++;
  }

  /** Skips an expression up to `end` at bracket depth 0 (a new line ends an attribute). */
  private expression(end: string): void {
    const src = this.src;
    let depth = 0;
    while (this.pos < src.length) {
      const ch = src[this.pos] as string;
      if (depth === 0 && end.includes(ch)) return;
      if (ch === '"') {
        this.string();
        continue;
      }
      if (src.startsWith("<<", this.pos) && /^<<-?[A-Za-z_]/.test(src.slice(this.pos))) {
        this.heredoc();
        continue;
      }
      if (ch === "#" || src.startsWith("//", this.pos)) {
        while (this.pos < src.length && src[this.pos] !== "\n") this.pos++;
        continue;
      }
      if (src.startsWith("/*", this.pos)) {
        const close = src.indexOf("*/", this.pos + 2);
        this.pos = close < 0 ? src.length : close + 2;
        continue;
      }
      if ("([{".includes(ch)) depth++;
      if (")]}".includes(ch)) {
        if (depth === 0) return;
        depth--;
      }
      this.pos++;
    }
  }

  /** Skips a quoted string, with its ${...} and %{...} (which may hold strings themselves). */
  private string(): void {
    const src = this.src;
    this.pos++;
    while (this.pos < src.length && src[this.pos] !== '"') {
      if (src[this.pos] === "\\") this.pos += 2;
      else if ((src[this.pos] === "$" || src[this.pos] === "%") && src[this.pos + 1] === "{") {
        this.pos += 2;
        this.expression("}");
        this.pos++;
      } else if (src[this.pos] === "\n")
        return; // unterminated: hcl2json has said so
      else this.pos++;
    }
    this.pos++;
  }

  private heredoc(): void {
    const header = /^<<-?([A-Za-z_][\w-]*)[^\n]*\n/.exec(this.src.slice(this.pos));
    if (!header) {
      this.pos += 2;
      return;
    }
    const close = new RegExp(`^[ \\t]*${header[1]}[ \\t]*$`, "m").exec(this.src.slice(this.pos + header[0].length));
    this.pos = close ? this.pos + header[0].length + close.index + close[0].length : this.src.length;
  }
}
