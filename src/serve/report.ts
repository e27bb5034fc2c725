// What GitLab users see: one commit status per image and one result note per request,
// edited in place. Everything passes through the masker (and, on its way out, every note
// through GitLabClient's mention neutralizer); a note stays far below GitLab's
// 1,000,000-character limit (a summary and a link, never the raw log).
import type { Masker } from "../index.js";
import { isTransient, type CommitState, type GitLabClient } from "./gitlab.js";
import { buildDuration, type BuildRecord, type RequestRecord } from "./store.js";

/** Longest note serve posts. */
export const NOTE_LIMIT = 100_000;
const TAIL_LINES = 30;
const LINE_LIMIT = 400;
const ROW_LIMIT = 50;
/** Pauses before a report GitLab failed for a passing reason (unreachable, 429, 5xx) is tried again; then it is given up (and logged). */
const REPORT_RETRY_MS = [1_000, 2_000, 4_000, 8_000, 16_000];
/** A failure reason's lines shown in a note (a template's errors, one a line). */
const REASON_LINES = 40;

const ICON: Record<BuildRecord["state"], string> = {
  queued: ":hourglass:",
  running: ":arrows_counterclockwise:",
  success: ":white_check_mark:",
  failed: ":x:",
  canceled: ":no_entry_sign:",
};

/** Human duration: "42 s", "3 min 12 s", "1 h 02 min". */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** "48.2 MiB". */
export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) [value, unit] = [value / 1024, unit + 1];
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The build's page on the dashboard. */
export function buildUrl(publicUrl: string, id: number): string {
  return `${publicUrl}/builds/${id}`;
}

/** One line for a commit status description (at most 255 characters). */
export function statusDescription(build: BuildRecord, now: number): string {
  const artifact = build.artifacts[0];
  const text = {
    queued: "queued",
    running: "building",
    success: `built in ${formatDuration(buildDuration(build, now))}${artifact?.sha256 ? `, sha256 ${artifact.sha256.slice(0, 12)}` : ""}`,
    failed: `failed${build.failingStep ? ` at ${build.failingStep}` : ""}: ${build.reason ?? "unknown error"}`,
    canceled: `canceled: ${build.reason ?? "cancelled"}`,
  }[build.state];
  // A list of errors (a template's) on one line: "2 errors in template: a; b".
  return text.replace(/:\n- /, ": ").replace(/\n- /g, "; ").replace(/\s+/g, " ").slice(0, 255);
}

/** The result note's markdown for a request's builds. */
export function renderNote(
  request: RequestRecord,
  builds: BuildRecord[],
  opts: {
    publicUrl: string;
    now: number;
    tail: (buildId: number) => string[];
    /** A successful build's collapsed "what changes in the image" section (image-changes.ts). */
    changes?: (build: BuildRecord) => string | undefined;
  },
): string {
  const shas = [...new Set(builds.map((b) => b.sha.slice(0, 8)))].map((s) => `\`${s}\``).join(", ");
  const lines = [
    "### tsimg build",
    "",
    `Requested by ${cell(request.requestedBy)} · commit ${shas || "?"}`,
    "",
    "| Image | State | Duration | Size | sha256 | Uploaded to | Log |",
    "|---|---|---|---|---|---|---|",
  ];
  const shown = builds.slice(-ROW_LIMIT);
  for (const b of shown) {
    const a = b.artifacts[0];
    lines.push(
      `| ${cell(b.image)} | ${ICON[b.state]} ${b.state} | ${formatDuration(buildDuration(b, opts.now))} | ${formatSize(a?.size)} | ${a?.sha256 ? `\`${a.sha256}\`` : ""} | ${a?.uploadedTo ? cell(a.uploadedTo) : ""} | [#${b.id}](${buildUrl(opts.publicUrl, b.id)}) |`,
    );
  }
  if (builds.length > shown.length)
    lines.push("", `(${builds.length - shown.length} earlier builds not shown: see the dashboard)`);
  for (const b of shown) {
    const section = opts.changes?.(b);
    if (section) lines.push("", section);
  }
  for (const b of shown.filter((x) => x.state === "failed" || x.state === "canceled")) {
    // The reason's first line inline, the rest (a template's errors) verbatim in a code block.
    const [first = "", ...more] = (b.reason ?? "").split("\n");
    lines.push(
      "",
      `**${cell(b.image)}** ${b.state}${b.failingStep ? ` at step \`${cell(b.failingStep).replace(/`/g, "")}\`` : ""}: ${escapeHtml(oneLine(first))}`,
    );
    const detail = more
      .filter((l) => l.trim() !== "")
      .slice(0, REASON_LINES)
      .map((l) => (l.length > LINE_LIMIT ? `${l.slice(0, LINE_LIMIT)}…` : l));
    if (detail.length > 0) {
      const fence = "`".repeat(Math.max(3, longestBacktickRun(detail.join("\n")) + 1));
      lines.push("", fence, ...detail, fence);
    }
    if (b.state !== "failed") continue;
    const tail = opts
      .tail(b.id)
      .slice(-TAIL_LINES)
      .map((l) => (l.length > LINE_LIMIT ? `${l.slice(0, LINE_LIMIT)}…` : l));
    if (tail.length === 0) continue;
    const fence = "`".repeat(Math.max(3, longestBacktickRun(tail.join("\n")) + 1));
    lines.push(
      "",
      `<details><summary>Last ${tail.length} log lines of ${escapeHtml(b.image)}</summary>`,
      "",
      fence,
      ...tail,
      fence,
      "",
      "</details>",
    );
  }
  const note = lines.join("\n");
  return note.length <= NOTE_LIMIT
    ? note
    : `${note.slice(0, NOTE_LIMIT - 200)}\n\n(truncated: the full logs are on the dashboard)`;
}

/**
 * Posts statuses and keeps each request's note up to date, one GitLab call at a time per
 * merge request: in the order the states changed, across requests too (a superseded build's
 * `canceled` reaches GitLab before its successor's `pending`, which GitLab would refuse on a
 * commit whose status is still running).
 */
export class Reporter {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: {
      gitlab: GitLabClient;
      masker: Masker;
      publicUrl: string;
      now: () => number;
      getRequest: (id: number) => RequestRecord | undefined;
      buildsOf: (requestId: number) => BuildRecord[];
      getBuild: (id: number) => BuildRecord | undefined;
      tail: (buildId: number) => string[];
      changes?: (build: BuildRecord) => string | undefined;
      setResultNote: (requestId: number, noteId: number) => void;
      onError: (error: unknown) => void;
    },
  ) {}

  /** Reports a build's current state: commit status, then the request's note. */
  update(buildId: number): Promise<void> {
    const build = this.deps.getBuild(buildId);
    if (!build) return Promise.resolve();
    // The status is the state at the time of the call, so every transition is posted in order.
    const description = this.deps.masker.mask(statusDescription(build, this.deps.now()));
    return this.serialize(`${build.projectId}!${build.mrIid}`, async () => {
      // Tried again through a short outage, in place: the reports after it wait, so the order holds.
      await persist(() =>
        this.deps.gitlab.setStatus(build.projectId, build.sha, {
          name: `tsimg/${build.image}`,
          state: build.state === "queued" ? "pending" : (build.state as CommitState),
          targetUrl: buildUrl(this.deps.publicUrl, build.id),
          description,
        }),
      ).catch(this.deps.onError);
      await persist(() => this.writeNote(build.requestId)).catch(this.deps.onError);
    });
  }

  /** Waits for every report in flight. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all(this.chains.values());
  }

  private async writeNote(requestId: number): Promise<void> {
    const request = this.deps.getRequest(requestId);
    if (!request) return;
    const body = this.deps.masker.mask(
      renderNote(request, this.deps.buildsOf(requestId), {
        publicUrl: this.deps.publicUrl,
        now: this.deps.now(),
        tail: this.deps.tail,
        ...(this.deps.changes ? { changes: this.deps.changes } : {}),
      }),
    );
    if (request.resultNoteId === null)
      this.deps.setResultNote(requestId, await this.deps.gitlab.createNote(request.projectId, request.mrIid, body));
    else await this.deps.gitlab.editNote(request.projectId, request.mrIid, request.resultNoteId, body);
  }

  private serialize(key: string, work: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(key) ?? Promise.resolve()).then(work, work);
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }
}

/** Runs a GitLab call, again after each pause of REPORT_RETRY_MS while it fails for a passing reason. */
async function persist(call: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const pause = REPORT_RETRY_MS[attempt];
      if (pause === undefined || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

function cell(text: string): string {
  return escapeHtml(oneLine(text)).replace(/\|/g, "\\|");
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 500);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function longestBacktickRun(text: string): number {
  return Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
}
