// Compares two snapshots: packages added, removed and changed (with versions), os and
// kernel, services, users, groups, ports and uploaded files, the build's inputs (with a
// unified diff of a changed file when both versions can be read), and lineage.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProgram } from "../util/run-program.js";
import type { Snapshot, SnapshotPackage } from "./snapshot.js";

export interface ValueChange {
  key: string;
  from?: unknown;
  to?: unknown;
}

export interface ListChange {
  added: string[];
  removed: string[];
}

export interface InputChange extends ValueChange {
  /** The input file (relative to the template's directory) whose hash this is. */
  file?: string;
  /** `diff -u` of the two versions, when both could be read and still match their hashes. */
  unified?: string;
}

export interface ImageDiff {
  a: string;
  b: string;
  packages: {
    added: SnapshotPackage[];
    removed: SnapshotPackage[];
    changed: Array<{ name: string; from: string; to: string }>;
  };
  os: ValueChange[];
  services: ListChange;
  users: ListChange;
  groups: ListChange;
  ports: ListChange;
  files: ListChange;
  inputs: InputChange[];
  lineage: ValueChange[];
  /** What could not be compared (one side has no inventory, or no inputs). */
  notes: string[];
}

/** Compares A and B (no file reads: see addUnifiedDiffs). */
export function compareSnapshots(a: Snapshot, b: Snapshot): ImageDiff {
  const notes: string[] = [];
  const lists = (key: "services" | "users" | "groups" | "ports" | "files"): ListChange => {
    if (!a[key] || !b[key]) {
      if (a[key] || b[key]) notes.push(`${key}: only ${a[key] ? "A" : "B"} records them`);
      return { added: [], removed: [] };
    }
    return listChange(a[key], b[key]);
  };
  if (!a.packages || !b.packages)
    notes.push(
      `packages: ${!a.packages && !b.packages ? "neither side has" : `${a.packages ? "B" : "A"} has no`} inventory`,
    );
  const os = valueChanges(
    { ...a.os, ...(a.kernel ? { kernel: a.kernel } : {}) },
    { ...b.os, ...(b.kernel ? { kernel: b.kernel } : {}) },
  );
  let inputs: InputChange[] = [];
  if (a.inputs && b.inputs) inputs = inputChanges(a.inputs, b.inputs);
  else notes.push("inputs: an SBOM does not record them (compare manifests for inputs and lineage)");
  return {
    a: a.label,
    b: b.label,
    packages:
      a.packages && b.packages ? packageChanges(a.packages, b.packages) : { added: [], removed: [], changed: [] },
    os,
    services: lists("services"),
    users: lists("users"),
    groups: lists("groups"),
    ports: lists("ports"),
    files: lists("files"),
    inputs,
    lineage: a.inputs && b.inputs ? valueChanges(flatten(a.lineage ?? {}), flatten(b.lineage ?? {})) : [],
    notes,
  };
}

/** How many differences: 0 means the images are the same as far as both sides record. */
export function countDifferences(d: ImageDiff): number {
  const p = d.packages;
  const l = [d.services, d.users, d.groups, d.ports, d.files].reduce(
    (n, c) => n + c.added.length + c.removed.length,
    0,
  );
  return p.added.length + p.removed.length + p.changed.length + l + d.os.length + d.inputs.length + d.lineage.length;
}

function packageChanges(a: SnapshotPackage[], b: SnapshotPackage[]): ImageDiff["packages"] {
  const key = (p: SnapshotPackage) => (p.arch ? `${p.name}:${p.arch}` : p.name);
  const before = new Map(a.map((p) => [key(p), p]));
  const after = new Map(b.map((p) => [key(p), p]));
  const byName = (x: { name: string }, y: { name: string }) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
  return {
    added: [...after]
      .filter(([k]) => !before.has(k))
      .map(([, p]) => p)
      .sort(byName),
    removed: [...before]
      .filter(([k]) => !after.has(k))
      .map(([, p]) => p)
      .sort(byName),
    changed: [...after]
      .filter(([k, p]) => before.has(k) && before.get(k)!.version !== p.version)
      .map(([, p]) => ({ name: p.name, from: before.get(key(p))!.version, to: p.version }))
      .sort(byName),
  };
}

function listChange(a: string[], b: string[]): ListChange {
  const before = new Set(a);
  const after = new Set(b);
  return { added: b.filter((x) => !before.has(x)), removed: a.filter((x) => !after.has(x)) };
}

function valueChanges(a: Record<string, unknown>, b: Record<string, unknown>): ValueChange[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => ({ key: k, ...(k in a ? { from: a[k] } : {}), ...(k in b ? { to: b[k] } : {}) }));
}

/** Changed input values; a changed file hash names its file (the `path`/`file`/`source` beside it). */
function inputChanges(a: Record<string, unknown>, b: Record<string, unknown>): InputChange[] {
  const fa = flatten(inlineAsText(a));
  const fb = flatten(inlineAsText(b));
  return valueChanges(fa, fb).map((change) => {
    const m = /^(.*)\.sha256$/.exec(change.key);
    if (!m) return change;
    const prefix = m[1]!;
    const file = [fb, fa]
      .flatMap((f) => ["path", "file", "source"].map((k) => f[`${prefix}.${k}`]))
      .find((v) => typeof v === "string");
    return typeof file === "string" ? { ...change, file } : change;
  });
}

/** A provisioner's inline lines as one text, so a changed command is one change with a unified diff. */
function inlineAsText(inputs: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(inputs.provisioners)) return inputs;
  const provisioners = (inputs.provisioners as unknown[]).map((p) => {
    const inline = (p as { inline?: unknown } | null)?.inline;
    return Array.isArray(inline) ? { ...(p as object), inline: inline.map((l) => `${String(l)}\n`).join("") } : p;
  });
  return { ...inputs, provisioners };
}

/** {a: {b: [1]}} -> {"a.b[0]": 1} */
export function flatten(value: unknown, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  if (Array.isArray(value)) value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  else out[prefix] = value;
  return out;
}

/**
 * Adds `diff -u` of each changed provisioner's inline commands, and of each changed input
 * file whose two versions are still on disk (under each side's template directory) with
 * the hashes the manifests recorded.
 */
export async function addUnifiedDiffs(d: ImageDiff, a: Snapshot, b: Snapshot): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "tsimg-diff-"));
  try {
    for (const change of d.inputs) {
      const texts = await twoVersions(change, a, b);
      if (!texts) continue;
      const name = change.file ?? change.key;
      await writeFile(join(work, "a"), texts[0]);
      await writeFile(join(work, "b"), texts[1]);
      const result = await runProgram(
        "diff",
        ["-u", "--label", `A/${name}`, "--label", `B/${name}`, join(work, "a"), join(work, "b")],
        { timeoutMs: 30_000 },
      );
      if (result.stdout) change.unified = result.stdout;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A changed input's two versions: inline commands (recorded as text), or a file whose hashes still match. */
async function twoVersions(
  change: InputChange,
  a: Snapshot,
  b: Snapshot,
): Promise<[string | Buffer, string | Buffer] | undefined> {
  if (change.key.endsWith(".inline")) {
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    return [text(change.from), text(change.to)];
  }
  if (!change.file || typeof change.from !== "string" || typeof change.to !== "string") return undefined;
  if (!a.templateDir || !b.templateDir) return undefined;
  const before = await readMatching(join(a.templateDir, change.file), change.from);
  const after = await readMatching(join(b.templateDir, change.file), change.to);
  return before === undefined || after === undefined ? undefined : [before, after];
}

async function readMatching(path: string, sha256: string): Promise<Buffer | undefined> {
  const data = await readFile(path).catch(() => undefined);
  if (!data || createHash("sha256").update(data).digest("hex") !== sha256) return undefined;
  return data;
}
