// "What changes in the image" in the result note: serve records the SBOM of every successful
// build with its merge request's target branch (sqlite, image-contents.db in state_dir), and
// compares a build with the last successful build of the same image recorded for the same
// target branch before it. The section is collapsed and its lists are summarized, so the note
// stays small. The same comparison, in short, is kept with the build when it is recorded: the
// dashboard's image history shows it beside each version (diffsOf).
import Database from "better-sqlite3";
import { join } from "node:path";
import { compareSnapshots, renderDiffLines, renderDiffMarkdown, snapshotFromJson, type ImageDiff } from "../index.js";
import type { BuildRecord } from "./store.js";

const SCHEMA = `CREATE TABLE IF NOT EXISTS image_contents (
  build_id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, image TEXT NOT NULL, target_branch TEXT NOT NULL,
  sha TEXT NOT NULL, sbom TEXT NOT NULL, recorded_at INTEGER NOT NULL, changes TEXT);
CREATE INDEX IF NOT EXISTS image_contents_branch ON image_contents (project_id, image, target_branch, build_id);`;

/** Largest SBOM recorded (a bigger one is not compared: the note says so). */
const MAX_SBOM_BYTES = 20 * 1024 * 1024;

interface Row {
  build_id: number;
  target_branch: string;
  sha: string;
  sbom: string;
}

/** What the image history shows beside a build: compared with which build, a summary, the first changes. */
export interface HistoryDiff {
  base: number | null;
  summary: string;
  changes: string[];
}

export class ImageChanges {
  private readonly db: Database.Database;

  constructor(stateDir: string) {
    this.db = new Database(join(stateDir, "image-contents.db"));
    this.db.pragma("journal_mode = WAL");
    this.db.exec(SCHEMA);
    // A database from before the history's diffs: their column added (older rows show none).
    const columns = this.db.prepare("PRAGMA table_info(image_contents)").all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === "changes")) this.db.exec("ALTER TABLE image_contents ADD COLUMN changes TEXT");
  }

  /** Records a successful build's SBOM (JSON text) under its MR's target branch. */
  record(build: BuildRecord, targetBranch: string, sbom: string, now: number): void {
    if (sbom.length > MAX_SBOM_BYTES) return;
    this.db
      .prepare(
        "INSERT OR REPLACE INTO image_contents (build_id, project_id, image, target_branch, sha, sbom, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(build.id, build.projectId, build.image, targetBranch, build.sha, sbom, now);
    this.db
      .prepare("UPDATE image_contents SET changes = ? WHERE build_id = ?")
      .run(JSON.stringify(this.historyDiff(build)), build.id);
  }

  /** The recorded history diffs of these builds (a build recorded before they were kept has none). */
  diffsOf(ids: readonly number[]): Map<number, HistoryDiff> {
    const out = new Map<number, HistoryDiff>();
    if (ids.length === 0) return out;
    const rows = this.db
      .prepare(
        `SELECT build_id, changes FROM image_contents WHERE changes IS NOT NULL AND build_id IN (${ids.map(() => "?").join(",")})`,
      )
      .all(...ids) as Array<{ build_id: number; changes: string }>;
    for (const row of rows) out.set(row.build_id, JSON.parse(row.changes) as HistoryDiff);
    return out;
  }

  private historyDiff(build: BuildRecord): HistoryDiff {
    const compared = this.compare(build);
    if (!compared) return { base: null, summary: "first recorded build for its target branch", changes: [] };
    if ("error" in compared)
      return { base: compared.base.build_id, summary: `not compared: ${compared.error}`, changes: [] };
    return { base: compared.base.build_id, ...renderDiffLines(compared.diff) };
  }

  /** The build's row and the last successful build of the same image for its target branch before it. */
  private rowAndBase(build: BuildRecord): { row: Row; base: Row | undefined } | undefined {
    const row = this.db.prepare("SELECT * FROM image_contents WHERE build_id = ?").get(build.id) as Row | undefined;
    if (!row) return undefined;
    const base = this.db
      .prepare(
        "SELECT * FROM image_contents WHERE project_id = ? AND image = ? AND target_branch = ? AND build_id < ? ORDER BY build_id DESC LIMIT 1",
      )
      .get(build.projectId, build.image, row.target_branch, build.id) as Row | undefined;
    return { row, base };
  }

  /** The two SBOMs compared (without the inputs, which SBOMs do not hold); undefined without a base. */
  private compare(build: BuildRecord): { base: Row; diff: ImageDiff } | { base: Row; error: string } | undefined {
    const found = this.rowAndBase(build);
    if (!found?.base) return undefined;
    const { row, base } = found;
    try {
      const diff = compareSnapshots(
        snapshotFromJson(JSON.parse(base.sbom), `build #${base.build_id}`),
        snapshotFromJson(JSON.parse(row.sbom), `build #${build.id}`),
      );
      diff.notes = diff.notes.filter((n) => !n.startsWith("inputs:"));
      return { base, diff };
    } catch (error) {
      return { base, error: (error as Error).message };
    }
  }

  /** The note's collapsed section for a successful build; undefined when nothing was recorded for it. */
  section(build: BuildRecord): string | undefined {
    if (build.state !== "success") return undefined;
    const found = this.rowAndBase(build);
    if (!found) return undefined;
    const branch = found.row.target_branch ? `\`${found.row.target_branch}\`` : "the target branch";
    const title = `What changes in the image: ${build.image}`;
    const compared = this.compare(build);
    let body: string;
    if (!compared) {
      body = `No earlier successful build of ${build.image} for ${branch} is recorded: nothing to compare with yet.\n`;
    } else if ("error" in compared) {
      body = `The two builds' SBOMs could not be compared: ${compared.error}\n`;
    } else {
      const { base, diff } = compared;
      body =
        `Compared with build #${base.build_id} (commit \`${base.sha.slice(0, 8)}\`), the last successful build of ${build.image} for ${branch}: packages, services, users, groups, listening ports and uploaded files, from the two SBOMs.\n\n` +
        renderDiffMarkdown(diff, { maxItems: 25, maxDiffLines: 40 });
    }
    return `<details><summary>${title}</summary>\n\n${body}\n</details>`;
  }

  close(): void {
    this.db.close();
  }
}
