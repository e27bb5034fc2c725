// Secret masking. Every string that leaves tsimg (events, errors, logs) passes through
// mask(), which replaces each secret in the forms it takes on the way out.

export const MASK = "<sensitive>";

/** Replaces registered secrets (plain, URL-encoded, base64, each line of multi-line) with <sensitive>. */
export class Masker {
  private patterns: string[] = [];

  /** Registers a secret value; values shorter than 3 characters are ignored (they would mask everything). */
  add(secret: string | undefined): void {
    if (!secret || secret.length < 3) return;
    const forms = new Set<string>([secret, encodeURIComponent(secret), Buffer.from(secret).toString("base64")]);
    for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 3) forms.add(line);
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
