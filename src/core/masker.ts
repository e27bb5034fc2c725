// Secret masking. Every string that leaves tsimg (events, errors, logs) passes through
// mask(), which replaces each secret in the forms it takes on the way out.

export const MASK = "<sensitive>";

/** Replaces registered secrets (plain, URL-encoded, base64, JSON-escaped, each line of multi-line) with <sensitive>. */
export class Masker {
  private patterns: string[] = [];

  /** Registers a secret value; values shorter than 3 characters are ignored (they would mask everything). */
  add(secret: string | undefined): void {
    if (!secret || secret.length < 3) return;
    const forms = new Set<string>();
    // A value read with ${file()} usually ends with a newline that its uses (a URL, a Basic
    // auth header) leave out: the trimmed value gets every form too.
    for (const value of new Set([secret, secret.trim()])) {
      if (value.length < 3) continue;
      forms.add(value).add(encodeURIComponent(value)).add(Buffer.from(value).toString("base64"));
      // As it stands inside a JSON string (serve's event log): quotes, backslashes, newlines escaped.
      forms.add(JSON.stringify(value).slice(1, -1));
    }
    // Each line on its own, as written and without the indentation a console may strip.
    for (const line of secret.split(/\r?\n/))
      for (const form of [line, line.trim()]) if (form.trim().length >= 3) forms.add(form);
    for (const form of forms) if (!this.patterns.includes(form)) this.patterns.push(form);
    // Longest first, so a secret that contains another is masked whole.
    this.patterns.sort((a, b) => b.length - a.length);
  }

  /** Returns text with every known secret replaced. */
  mask(text: string): string {
    let out = text;
    for (const pattern of this.patterns) if (out.includes(pattern)) out = out.split(pattern).join(MASK);
    return out;
  }
}
