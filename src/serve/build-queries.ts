// What the dashboard asks the database: a page of builds with filters, one row per image,
// and one image's history. Each is one or two indexed queries, so a page answers in a few
// milliseconds with tens of thousands of builds (bench/dashboard.mjs).
import type Database from "better-sqlite3";

/** The build list's filters and page (1-based). */
export interface BuildFilter {
  image?: string;
  state?: string;
  mr?: number;
  requester?: string;
  page?: number;
  perPage?: number;
}

/** One image: its newest build, the newest version any build reported, and its last builds' durations. */
export interface ImageRow {
  image: string;
  version: string | null;
  lastBuildId: number;
  lastState: string;
  lastFinishedAt: number | null;
  builds: number;
  /** Milliseconds of its last finished builds, oldest first. */
  durations: number[];
}

export const MAX_PER_PAGE = 200;
/** How many of an image's builds its sparkline shows. */
const SPARK = 20;

type Row = Record<string, unknown>;

export const DASHBOARD_SCHEMA = `
CREATE TABLE IF NOT EXISTS projects (id INTEGER PRIMARY KEY, path TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS builds_image ON builds (image, id);
CREATE INDEX IF NOT EXISTS builds_state ON builds (state, id);
CREATE INDEX IF NOT EXISTS builds_requester ON builds (requested_by, id);
CREATE INDEX IF NOT EXISTS builds_mr_iid ON builds (mr_iid, id);
`;

/** The dashboard's queries over serve's database (the rows come back raw: store.ts turns them into records). */
export class BuildQueries {
  constructor(private readonly db: Database.Database) {
    db.exec(DASHBOARD_SCHEMA);
    const columns = (db.pragma("table_info(builds)") as { name: string }[]).map((c) => c.name);
    // A database from before the dashboard kept versions.
    if (!columns.includes("version")) db.exec("ALTER TABLE builds ADD COLUMN version TEXT");
  }

  /** A page of builds, newest first, and how many match in all. */
  list(filter: BuildFilter): { rows: Row[]; total: number } {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) =>
      value !== undefined && value !== "" && (where.push(sql), args.push(value));
    add("b.image = ?", filter.image);
    add("b.state = ?", filter.state);
    add("b.mr_iid = ?", filter.mr);
    add("b.requested_by = ?", filter.requester);
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    const per = Math.min(Math.max(1, filter.perPage ?? 50), MAX_PER_PAGE);
    const page = Math.max(1, filter.page ?? 1);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM builds b ${clause}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`${SELECT} ${clause} ORDER BY b.id DESC LIMIT ? OFFSET ?`)
      .all(...args, per, (page - 1) * per) as Row[];
    return { rows, total };
  }

  /** One build with its request's note and project path. */
  get(id: number): Row | undefined {
    return this.db.prepare(`${SELECT} WHERE b.id = ?`).get(id) as Row | undefined;
  }

  /** One row per image, by name. */
  images(): ImageRow[] {
    const rows = this.db
      .prepare(
        `SELECT b.image, b.id, b.state, b.finished_at, c.n,
           (SELECT v.version FROM builds v WHERE v.image = b.image AND v.version IS NOT NULL ORDER BY v.id DESC LIMIT 1) AS version
         FROM (SELECT image, max(id) AS id, count(*) AS n FROM builds GROUP BY image) c JOIN builds b ON b.id = c.id
         ORDER BY b.image`,
      )
      .all() as Row[];
    const recent = this.db.prepare(
      `SELECT finished_at - started_at AS ms FROM builds WHERE image = ? AND finished_at IS NOT NULL AND started_at IS NOT NULL
       ORDER BY id DESC LIMIT ${SPARK}`,
    );
    return rows.map((r) => ({
      image: r.image as string,
      version: r.version as string | null,
      lastBuildId: r.id as number,
      lastState: r.state as string,
      lastFinishedAt: r.finished_at as number | null,
      builds: r.n as number,
      durations: (recent.all(r.image) as { ms: number }[]).map((d) => d.ms).reverse(),
    }));
  }

  /** Records the path of a project a delivery named (GitLab links use it). */
  rememberProject(id: number, path: string): void {
    this.db
      .prepare("INSERT INTO projects (id, path) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET path = excluded.path")
      .run(id, path);
  }

  /** The version a build's template declares (`[image] version`). */
  setVersion(id: number, version: string): void {
    this.db.prepare("UPDATE builds SET version = ? WHERE id = ?").run(version, id);
  }
}

/** A build with what its links need: the request's note and the project's path. */
const SELECT = `SELECT b.*, r.note_id AS note_id, p.path AS project_path FROM builds b
  LEFT JOIN requests r ON r.id = b.request_id LEFT JOIN projects p ON p.id = b.project_id`;
