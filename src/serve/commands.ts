// The comment commands. Parsing is strict: only the first line counts, and an image name
// is used only after it matched a known template name exactly, so nothing from a comment
// reaches a shell or a path unchecked.

/** What a comment asks for. `none`: not addressed to tsimg. `help`: asked for, or a mistake explained in `problem`. */
export type Command =
  | { kind: "none" }
  | { kind: "build"; images: string[] | "all" }
  | { kind: "cancel" }
  | { kind: "help"; problem?: string };

/** A name that can be a template file's base name. */
export const IMAGE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const VERBS = ["build", "cancel", "help"];
const MAX_IMAGES = 20;

/** Parses a note's first line. */
export function parseCommand(note: string): Command {
  const first = (note.split(/\r?\n/, 1)[0] ?? "").trim();
  if (!/^\/tsimg(\s|$)/.test(first)) {
    if (/^\/tsimg/.test(first))
      return { kind: "help", problem: `unknown command ${quote(first.split(/\s/)[0] ?? "")}` };
    return { kind: "none" };
  }
  const [, verb, ...args] = first.split(/\s+/);
  switch (verb) {
    case "build": {
      if (args.length === 0) return { kind: "help", problem: "`/tsimg build` needs an image name, or `all`" };
      if (args.length === 1 && args[0] === "all") return { kind: "build", images: "all" };
      if (args.length > MAX_IMAGES) return { kind: "help", problem: `at most ${MAX_IMAGES} images per command` };
      const bad = args.find((a) => !IMAGE_NAME.test(a) || a.includes(".."));
      if (bad !== undefined)
        return {
          kind: "help",
          problem: `${quote(bad)} is not an image name (lowercase letters, digits, ".", "_" and "-")`,
        };
      return { kind: "build", images: [...new Set(args)] };
    }
    case "cancel":
    case "help":
      if (args.length > 0) return { kind: "help", problem: `\`/tsimg ${verb}\` takes no arguments` };
      return verb === "cancel" ? { kind: "cancel" } : { kind: "help" };
    case undefined:
      return { kind: "help" };
    default: {
      const hint = closest(verb, VERBS);
      return {
        kind: "help",
        problem: `unknown command ${quote(verb)}${hint ? `; did you mean \`/tsimg ${hint}\`?` : ""}`,
      };
    }
  }
}

/** Checks requested names against the templates at the MR head; returns the images or the problem. */
export function resolveImages(
  requested: string[] | "all",
  available: string[],
): { images: string[] } | { problem: string } {
  if (available.length === 0) return { problem: "this commit has no image templates" };
  if (requested === "all") return { images: [...available].sort() };
  for (const name of requested) {
    if (available.includes(name)) continue;
    const hint = closest(name, available);
    return { problem: `there is no image ${quote(name)} at this commit${hint ? `; did you mean \`${hint}\`?` : ""}` };
  }
  return { images: requested };
}

/** The help note; `problem` goes first when the comment was a mistake. */
export function helpText(available: string[], globs: string[], problem?: string): string {
  const where = globs.map((g) => `\`${g}\``).join(", ");
  const lines = [
    ...(problem ? [`:warning: ${problem}`, ""] : []),
    "**tsimg commands** (the first line of a comment on this merge request):",
    "",
    "- `/tsimg build <image> [<image>...]`: build images at the merge request's head commit",
    "- `/tsimg build all`: build every image",
    "- `/tsimg cancel`: cancel this merge request's queued and running builds",
    "- `/tsimg help`: this text",
    "",
    available.length > 0
      ? `Images at this commit (${where}): ${available.map((a) => `\`${a}\``).join(", ")}`
      : `No templates found at this commit (${where}).`,
  ];
  return lines.join("\n");
}

/** Shows user text inside backticks safely (no markdown or mention injection). */
export function quote(text: string): string {
  const clean = text.replace(/[`\r\n]/g, "").slice(0, 64);
  return `\`${clean}\``;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
