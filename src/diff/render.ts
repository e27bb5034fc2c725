// `tsimg diff`'s human-readable output, and the Markdown serve puts in a merge request
// note. Long lists are cut to `maxItems` with a count of the rest, so a note stays small.
import type { ImageDiff, InputChange, ListChange, ValueChange } from "./compare.js";
import { countDifferences } from "./compare.js";

const shown = (v: unknown) => (v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));
/** A changed input: inline commands (a text of lines) by their count, as the unified diff below shows them. */
const inputChange = (c: InputChange) => {
  const value = (v: unknown) =>
    c.key.endsWith(".inline") && typeof v === "string" ? `${v.split("\n").length - 1} lines` : shown(v);
  return `${c.key}: ${value(c.from)} -> ${value(c.to)}${c.file ? ` (${c.file})` : ""}`;
};

/** Sections of lines, each item already worded; shared by the text and Markdown forms. */
function sections(d: ImageDiff): Array<{ title: string; items: string[]; blocks?: string[] }> {
  const list = (c: ListChange) => [...c.added.map((x) => `+ ${x}`), ...c.removed.map((x) => `- ${x}`)];
  const values = (cs: ValueChange[]) => cs.map((c) => `${c.key}: ${shown(c.from)} -> ${shown(c.to)}`);
  const p = d.packages;
  return [
    {
      title: "packages",
      items: [
        ...p.added.map((x) => `+ ${x.name} ${x.version}${x.arch ? ` (${x.arch})` : ""}`),
        ...p.removed.map((x) => `- ${x.name} ${x.version}${x.arch ? ` (${x.arch})` : ""}`),
        ...p.changed.map((x) => `~ ${x.name} ${x.from} -> ${x.to}`),
      ],
    },
    { title: "os", items: values(d.os) },
    { title: "services", items: list(d.services) },
    { title: "users", items: list(d.users) },
    { title: "groups", items: list(d.groups) },
    { title: "listening ports", items: list(d.ports) },
    { title: "uploaded files", items: list(d.files) },
    {
      title: "inputs",
      items: d.inputs.map(inputChange),
      blocks: d.inputs.flatMap((c) => (c.unified ? [c.unified] : [])),
    },
    { title: "lineage", items: values(d.lineage) },
  ].filter((s) => s.items.length > 0);
}

/** The terminal form. */
export function renderDiffText(d: ImageDiff): string {
  const n = countDifferences(d);
  const out = [`A: ${d.a}`, `B: ${d.b}`, n === 0 ? "no differences" : `${n} difference${n === 1 ? "" : "s"}`];
  for (const s of sections(d)) {
    out.push("", `${s.title}:`, ...s.items.map((i) => `  ${i}`));
    for (const block of s.blocks ?? [])
      out.push(
        "",
        ...block
          .trimEnd()
          .split("\n")
          .map((l) => `  ${l}`),
      );
  }
  for (const note of d.notes) out.push("", `note: ${note}`);
  return `${out.join("\n")}\n`;
}

/** The Markdown form for a merge request note: at most `maxItems` per list, `maxDiffLines` per unified diff. */
export function renderDiffMarkdown(d: ImageDiff, limits = { maxItems: 30, maxDiffLines: 60 }): string {
  const n = countDifferences(d);
  if (n === 0) return "No differences: the same packages, services, users, ports, files and inputs.\n";
  const out = [`${n} difference${n === 1 ? "" : "s"}.`];
  for (const s of sections(d)) {
    const items = s.items.slice(0, limits.maxItems).map((i) => `- \`${i.replace(/`/g, "'")}\``);
    const rest = s.items.length - limits.maxItems;
    out.push("", `**${s.title}** (${s.items.length})`, "", ...items, ...(rest > 0 ? [`- ... and ${rest} more`] : []));
    for (const block of s.blocks ?? []) {
      const lines = block.trimEnd().split("\n");
      const cut = lines.slice(0, limits.maxDiffLines);
      out.push(
        "",
        "```diff",
        ...cut.map((l) => l.replace(/```/g, "'''")),
        ...(lines.length > cut.length ? [`... ${lines.length - cut.length} more lines`] : []),
        "```",
      );
    }
  }
  for (const note of d.notes) out.push("", `_${note}_`);
  return `${out.join("\n")}\n`;
}

/**
 * A short form for a table cell (the dashboard's image history): a one-line summary and at
 * most `maxItems` change lines, each prefixed with its section unless it is a package.
 */
export function renderDiffLines(d: ImageDiff, maxItems = 12): { summary: string; changes: string[] } {
  // What is in the image only: an SBOM holds no inputs or lineage.
  const inImage = sections(d).filter((s) => s.title !== "inputs" && s.title !== "lineage");
  const all = inImage.flatMap((s) => s.items.map((i) => (s.title === "packages" ? i : `${s.title}: ${i}`)));
  const shownItems = all.slice(0, maxItems);
  const rest = all.length - shownItems.length;
  return {
    summary:
      all.length === 0 ? "no changes in the image" : inImage.map((s) => `${s.items.length} ${s.title}`).join(", "),
    changes: rest > 0 ? [...shownItems, `... and ${rest} more`] : shownItems,
  };
}
