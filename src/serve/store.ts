// Build records and deliveries in SQLite (one file under state_dir): they survive a
// restart of the service. Every write is synchronous, so a delivery is recorded before the
// webhook is answered. WAL with synchronous=NORMAL: a commit is an append to the WAL file,
// no fsync, so the intake's one insert costs tens of microseconds; every statement is
// prepared once.
import Database from "better-sqlite3";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { BuildQueries } from "./build-queries.js";

/** A build's life: queued -> running -> success | failed | canceled. */
export type BuildState = "queued" | "running" | "success" | "failed" | "canceled";

/** What a finished build left: the main file, its size and sha256, and where it was uploaded. */
export interface ArtifactInfo {
  file: string;
  size?: number;
  sha256?: string;
  uploadedTo?: string;
}

/** One image built at one commit for one request. */
export interface BuildRecord {
  id: number;
  requestId: number;
  projectId: number;
  mrIid: number;
  image: string;
  sha: string;
  repoUrl: string;
  requestedBy: string;
  state: BuildState;
  reason: string | null;
  failingStep: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  artifacts: ArtifactInfo[];
  workDir: string | null;
  /** The `tsimg worker` that ran it (null: serve's own process). */
  worker: string | null;
}

/** One `/tsimg build` comment (or push/autobuild) and its single result note. */
export interface RequestRecord {
  id: number;
  projectId: number;
  mrIid: number;
  noteId: number | null;
  requestedBy: string;
  resultNoteId: number | null;
  createdAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS delivery_work (
  key TEXT PRIMARY KEY, event TEXT NOT NULL, payload TEXT NOT NULL, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, mr_iid INTEGER NOT NULL, note_id INTEGER,
  requested_by TEXT NOT NULL, result_note_id INTEGER, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS builds (
  id INTEGER PRIMARY KEY, request_id INTEGER NOT NULL REFERENCES requests(id), project_id INTEGER NOT NULL,
  mr_iid INTEGER NOT NULL, image TEXT NOT NULL, sha TEXT NOT NULL, repo_url TEXT NOT NULL, requested_by TEXT NOT NULL,
  state TEXT NOT NULL, reason TEXT, failing_step TEXT, created_at INTEGER NOT NULL, started_at INTEGER,
  finished_at INTEGER, artifacts TEXT NOT NULL DEFAULT '[]', work_dir TEXT);
CREATE INDEX IF NOT EXISTS builds_mr ON builds (project_id, mr_iid, image, state);
CREATE INDEX IF NOT EXISTS requests_note ON requests (project_id, note_id);
CREATE TABLE IF NOT EXISTS note_claims (
  project_id INTEGER NOT NULL, note_id INTEGER NOT NULL, delivery_key TEXT NOT NULL, emoji_at INTEGER,
  PRIMARY KEY (project_id, note_id));
`;

type Row = Record<string, unknown>;

/** A delivery as the intake records it: its dedupe key, event kind and raw body. */
export interface NewDelivery {
  key: string;
  event: string;
  payload: string;
}

/** A delivery acknowledged and not handled yet: how often handling it failed for a passing reason, and since when it waits. */
export interface PendingDelivery extends NewDelivery {
  attempts: number;
  receivedAt: number;
}

/** The service's database. */
export class Store {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly acceptDeliveries: (deliveries: readonly NewDelivery[], at: number) => boolean[];
  /** The dashboard's queries (build list filters, images, versions, project paths). */
  readonly queries: BuildQueries;

  constructor(
    stateDir: string,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(stateDir, { recursive: true });
    this.db = new Database(join(stateDir, "tsimg.db"));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
    // A database from before retries: its pending deliveries start at 0 attempts.
    if (!(this.db.pragma("table_info(delivery_work)") as { name: string }[]).some((c) => c.name === "attempts"))
      this.db.exec("ALTER TABLE delivery_work ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0");
    // A database from before the queue: its builds ran in serve's own process.
    if (!(this.db.pragma("table_info(builds)") as { name: string }[]).some((c) => c.name === "worker"))
      this.db.exec("ALTER TABLE builds ADD COLUMN worker TEXT");
    this.queries = new BuildQueries(this.db);
    // Webhook bodies and who asked for what: serve's alone (a build runs as another user).
    for (const file of ["tsimg.db", "tsimg.db-wal", "tsimg.db-shm"]) {
      try {
        chmodSync(join(stateDir, file), 0o600);
      } catch {
        // not created yet
      }
    }
    const seen = this.sql("INSERT OR IGNORE INTO deliveries (key, received_at) VALUES (?, ?)");
    const work = this.sql("INSERT INTO delivery_work (key, event, payload, received_at) VALUES (?, ?, ?, ?)");
    // One transaction: each key and the work it stands for are on disk together, or neither
    // is. A burst's deliveries share it, so they share one commit (one WAL append).
    this.acceptDeliveries = this.db.transaction((deliveries: readonly NewDelivery[], at: number) =>
      deliveries.map((d) => {
        if (seen.run(d.key, at).changes !== 1) return false;
        work.run(d.key, d.event, d.payload, at);
        return true;
      }),
    );
  }

  /** A statement, compiled on first use (compiling costs more than running most of these). */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /**
   * Records deliveries and the work each asks for (its raw body) in one transaction; for
   * each, false when its key was seen before (a duplicate, also within the batch). The work
   * row is removed by deliveryDone() once handled, so deliveries acknowledged but not yet
   * handled when the service died are handled after a restart.
   */
  acceptDeliveryWork(deliveries: readonly NewDelivery[]): boolean[] {
    return this.acceptDeliveries(deliveries, this.now());
  }

  /** The delivery's work has been handled. */
  deliveryDone(key: string): void {
    this.sql("DELETE FROM delivery_work WHERE key = ?").run(key);
  }

  /** Deliveries acknowledged but not handled (oldest first). */
  pendingDeliveries(): PendingDelivery[] {
    return this.sql(
      "SELECT key, event, payload, attempts, received_at AS receivedAt FROM delivery_work ORDER BY received_at, rowid",
    ).all() as PendingDelivery[];
  }

  /** Handling the delivery failed for a passing reason (GitLab unreachable): it stays, to be tried again; returns its attempts so far. */
  deliveryFailed(key: string): number {
    const row = this.sql("UPDATE delivery_work SET attempts = attempts + 1 WHERE key = ? RETURNING attempts").get(
      key,
    ) as { attempts: number } | undefined;
    return row?.attempts ?? 0;
  }

  /**
   * Claims a command note for the delivery handling it; false when another delivery (the same
   * note re-sent under a new Idempotency-Key) has it already. The same delivery handled again
   * (a retry, a restart) keeps its claim.
   */
  claimNote(projectId: number, noteId: number, deliveryKey: string): boolean {
    this.sql("INSERT OR IGNORE INTO note_claims (project_id, note_id, delivery_key) VALUES (?, ?, ?)").run(
      projectId,
      noteId,
      deliveryKey,
    );
    const row = this.sql("SELECT delivery_key FROM note_claims WHERE project_id = ? AND note_id = ?").get(
      projectId,
      noteId,
    ) as { delivery_key: string };
    return row.delivery_key === deliveryKey;
  }

  /** Whether the note got its emoji already. */
  noteHasEmoji(projectId: number, noteId: number): boolean {
    const row = this.sql("SELECT emoji_at FROM note_claims WHERE project_id = ? AND note_id = ?").get(
      projectId,
      noteId,
    ) as { emoji_at: number | null } | undefined;
    return row?.emoji_at != null;
  }

  /** The note got its emoji. */
  setNoteEmoji(projectId: number, noteId: number): void {
    this.sql("UPDATE note_claims SET emoji_at = ? WHERE project_id = ? AND note_id = ?").run(
      this.now(),
      projectId,
      noteId,
    );
  }

  /** The request a command note created, if any (a replayed delivery must not build twice). */
  requestOfNote(projectId: number, noteId: number): RequestRecord | undefined {
    const row = this.sql("SELECT id FROM requests WHERE project_id = ? AND note_id = ?").get(projectId, noteId) as
      { id: number } | undefined;
    return row && this.getRequest(row.id);
  }

  /** Creates a request record. */
  addRequest(r: { projectId: number; mrIid: number; noteId: number | null; requestedBy: string }): RequestRecord {
    const info = this.sql(
      "INSERT INTO requests (project_id, mr_iid, note_id, requested_by, created_at) VALUES (?, ?, ?, ?, ?)",
    ).run(r.projectId, r.mrIid, r.noteId, r.requestedBy, this.now());
    return this.getRequest(Number(info.lastInsertRowid))!;
  }

  getRequest(id: number): RequestRecord | undefined {
    const row = this.sql("SELECT * FROM requests WHERE id = ?").get(id) as Row | undefined;
    return (
      row && {
        id: row.id as number,
        projectId: row.project_id as number,
        mrIid: row.mr_iid as number,
        noteId: row.note_id as number | null,
        requestedBy: row.requested_by as string,
        resultNoteId: row.result_note_id as number | null,
        createdAt: row.created_at as number,
      }
    );
  }

  setResultNote(requestId: number, noteId: number): void {
    this.sql("UPDATE requests SET result_note_id = ? WHERE id = ?").run(noteId, requestId);
  }

  /** Creates a queued build. */
  addBuild(
    b: Pick<BuildRecord, "requestId" | "projectId" | "mrIid" | "image" | "sha" | "repoUrl" | "requestedBy">,
  ): BuildRecord {
    const info = this.sql(
      "INSERT INTO builds (request_id, project_id, mr_iid, image, sha, repo_url, requested_by, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
    ).run(b.requestId, b.projectId, b.mrIid, b.image, b.sha, b.repoUrl, b.requestedBy, this.now());
    return this.getBuild(Number(info.lastInsertRowid))!;
  }

  getBuild(id: number): BuildRecord | undefined {
    const row = this.sql("SELECT * FROM builds WHERE id = ?").get(id) as Row | undefined;
    return row && toBuild(row);
  }

  /** Newest first. */
  listBuilds(limit = 200): BuildRecord[] {
    return (this.sql("SELECT * FROM builds ORDER BY id DESC LIMIT ?").all(limit) as Row[]).map(toBuild);
  }

  buildsOfRequest(requestId: number): BuildRecord[] {
    return (this.sql("SELECT * FROM builds WHERE request_id = ? ORDER BY id").all(requestId) as Row[]).map(toBuild);
  }

  /** Queued and running builds of an MR (optionally of one image). */
  activeBuilds(projectId: number, mrIid: number, image?: string): BuildRecord[] {
    const rows = this.sql(
      "SELECT * FROM builds WHERE project_id = ? AND mr_iid = ? AND state IN ('queued', 'running') AND (? IS NULL OR image = ?) ORDER BY id",
    ).all(projectId, mrIid, image ?? null, image ?? null) as Row[];
    return rows.map(toBuild);
  }

  /** Builds a previous process left queued or running. */
  unfinishedBuilds(): BuildRecord[] {
    return (this.sql("SELECT * FROM builds WHERE state IN ('queued', 'running') ORDER BY id").all() as Row[]).map(
      toBuild,
    );
  }

  markRunning(id: number, workDir: string): void {
    this.sql("UPDATE builds SET state = 'running', started_at = ?, work_dir = ? WHERE id = ? AND state = 'queued'").run(
      this.now(),
      workDir,
      id,
    );
  }

  /** The worker that took the build (queue mode). */
  setWorker(id: number, worker: string): void {
    this.sql("UPDATE builds SET worker = ? WHERE id = ?").run(worker, id);
  }

  /** Moves a build to a final state; a build already final keeps its state (returns false). */
  finish(
    id: number,
    state: Exclude<BuildState, "queued" | "running">,
    fields: { reason?: string; failingStep?: string; artifacts?: ArtifactInfo[] } = {},
  ): boolean {
    return (
      this.sql(
        "UPDATE builds SET state = ?, reason = ?, failing_step = ?, artifacts = ?, finished_at = ? WHERE id = ? AND state IN ('queued', 'running')",
      ).run(
        state,
        fields.reason ?? null,
        fields.failingStep ?? null,
        JSON.stringify(fields.artifacts ?? []),
        this.now(),
        id,
      ).changes === 1
    );
  }

  close(): void {
    this.db.close();
  }
}

export function toBuild(row: Row): BuildRecord {
  return {
    id: row.id as number,
    requestId: row.request_id as number,
    projectId: row.project_id as number,
    mrIid: row.mr_iid as number,
    image: row.image as string,
    sha: row.sha as string,
    repoUrl: row.repo_url as string,
    requestedBy: row.requested_by as string,
    state: row.state as BuildState,
    reason: row.reason as string | null,
    failingStep: row.failing_step as string | null,
    createdAt: row.created_at as number,
    startedAt: row.started_at as number | null,
    finishedAt: row.finished_at as number | null,
    artifacts: JSON.parse(row.artifacts as string) as ArtifactInfo[],
    workDir: row.work_dir as string | null,
    worker: (row.worker as string | null) ?? null,
  };
}

/** Milliseconds a build ran (or has been running), or undefined before it started. */
export function buildDuration(build: BuildRecord, now: number): number | undefined {
  if (build.startedAt === null) return undefined;
  return (build.finishedAt ?? now) - build.startedAt;
}
