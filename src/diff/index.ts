// tsimg diff: compare two images (manifests, SBOMs or output directories).
import { addUnifiedDiffs, compareSnapshots, type ImageDiff } from "./compare.js";
import { readSnapshot } from "./snapshot.js";

export { compareSnapshots, countDifferences, type ImageDiff } from "./compare.js";
export { renderDiffLines, renderDiffMarkdown, renderDiffText } from "./render.js";
export { fromJson, readSnapshot, type Snapshot } from "./snapshot.js";

/** Reads both sides and compares them, with unified diffs of changed input files where possible. */
export async function diffImages(a: string, b: string, options: { build?: string } = {}): Promise<ImageDiff> {
  const [left, right] = await Promise.all([readSnapshot(a, options.build), readSnapshot(b, options.build)]);
  const diff = compareSnapshots(left, right);
  await addUnifiedDiffs(diff, left, right);
  return diff;
}
