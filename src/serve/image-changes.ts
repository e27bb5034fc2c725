// "What changes in the image" in the result note: serve records the SBOM of every successful
// build with its merge request's target branch (sqlite, image-contents.db in state_dir), and
// compares a build with the last successful build of the same image recorded for the same
// target branch before it. The section is collapsed and its lists are summarized, so the note
// stays small.
import Database from "better-sqlite3";
import { join } from "node:path";
import { compareSnapshots, renderDiffMarkdown, snapshotFromJson } from "../index.js";
import type { BuildRecord } from "./store.js";

const SCHEMA = `CREATE TABLE IF NOT EXISTS image_contents (
  build_id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, image TEXT NOT NULL, target_branch TEXT NOT NULL,
  sha TEXT NOT NULL, sbom TEXT NOT NULL, recorded_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS image_contents_branch ON image_contents (project_id, image, target_branch, build_id);`;

/** Largest SBOM recorded (a bigger one is not compared: the note says so). */
const MAX_SBOM_BYTES = 20 * 1024 * 1024;

interface Row {
  build_id: number;
  target_branch: string;
  sha: string;
  sbom: string;
}

export class ImageChanges {
  private readonly db: Database.Database;

  constructor(stateDir: string) {
    this.db = new Database(join(stateDir, "image-contents.db"));
    this.db.pragma("journal_mode = WAL");
    this.db.exec(SCHEMA);
  }

  /** Records a successful build's SBOM (JSON text) under its MR's target branch. */
  record(build: BuildRecord, targetBranch: string, sbom: string, now: number): void {
    if (sbom.length > MAX_SBOM_BYTES) return;
    this.db
      .prepare(
        "INSERT OR REPLACE INTO image_contents (build_id, project_id, image, target_branch, sha, sbom, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(build.id, build.projectId, build.image, targetBranch, build.sha, sbom, now);
  }

  /** The note's collapsed section for a successful build; undefined when nothing was recorded for it. */
  section(build: BuildRecord): string | undefined {
    if (build.state !== "success") return undefined;
    const row = this.db.prepare("SELECT * FROM image_contents WHERE build_id = ?").get(build.id) as Row | undefined;
    if (!row) return undefined;
    const base = this.db
      .prepare(
        "SELECT * FROM image_contents WHERE project_id = ? AND image = ? AND target_branch = ? AND build_id < ? ORDER BY build_id DESC LIMIT 1",
      )
      .get(build.projectId, build.image, row.target_branch, build.id) as Row | undefined;
    const branch = row.target_branch ? `\`${row.target_branch}\`` : "the target branch";
    const title = `What changes in the image: ${build.image}`;
    let body: string;
    if (!base) {
      body = `No earlier successful build of ${build.image} for ${branch} is recorded: nothing to compare with yet.\n`;
    } else {
      try {
        const diff = compareSnapshots(
          snapshotFromJson(JSON.parse(base.sbom), `build #${base.build_id}`),
          snapshotFromJson(JSON.parse(row.sbom), `build #${build.id}`),
        );
        diff.notes = diff.notes.filter((n) => !n.startsWith("inputs:"));
        body =
          `Compared with build #${base.build_id} (commit \`${base.sha.slice(0, 8)}\`), the last successful build of ${build.image} for ${branch}: packages, services, users, groups, listening ports and uploaded files, from the two SBOMs.\n\n` +
          renderDiffMarkdown(diff, { maxItems: 25, maxDiffLines: 40 });
      } catch (error) {
        body = `The two builds' SBOMs could not be compared: ${(error as Error).message}\n`;
      }
    }
    return `<details><summary>${title}</summary>\n\n${body}\n</details>`;
  }

  close(): void {
    this.db.close();
  }
}
