// What the dashboard's JSON says about a build and an image: the public fields (no work dir
// paths), each text from a build or a user masked, and the links back to GitLab.
import type { Masker } from "../index.js";
import type { ImageRow } from "./build-queries.js";
import { buildDuration, toBuild, type BuildRecord } from "./store.js";

/** A build as the dashboard's queries return it: the record, its request's note and its project's path. */
export interface DashboardBuild extends BuildRecord {
  version: string | null;
  noteId: number | null;
  projectPath: string | null;
}

/** A row of the dashboard's queries as a build. */
export function dashboardBuild(row: Record<string, unknown>): DashboardBuild {
  return {
    ...toBuild(row),
    version: (row.version as string | null) ?? null,
    noteId: (row.note_id as number | null) ?? null,
    projectPath: (row.project_path as string | null) ?? null,
  };
}

/** Where a build's MR, commit, the comment that asked and who asked live in GitLab. */
export interface GitLabLinks {
  project: string;
  mr: string;
  commit: string;
  comment: string | null;
  requester: string | null;
}

/** The links of a build; a project whose path serve never saw is reached by id (GitLab redirects /projects/<id>). */
export function gitlabLinks(gitlabUrl: string, b: DashboardBuild): GitLabLinks {
  const base = gitlabUrl.replace(/\/+$/, "");
  const project = b.projectPath
    ? `${base}/${b.projectPath.split("/").map(encodeURIComponent).join("/")}`
    : `${base}/projects/${b.projectId}`;
  const mr = `${project}/-/merge_requests/${b.mrIid}`;
  return {
    project,
    mr,
    commit: `${project}/-/commit/${b.sha}`,
    comment: b.noteId === null ? null : `${mr}#note_${b.noteId}`,
    // autobuild (a push) is no GitLab user.
    requester:
      /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(b.requestedBy) && b.requestedBy !== "autobuild"
        ? `${base}/${b.requestedBy}`
        : null,
  };
}

/** What the view needs besides the build. */
export interface ViewContext {
  now: number;
  masker: Masker;
  gitlabUrl: string;
  /** The step a running build is in (its title), from its log. */
  currentStep?: (id: number) => string | undefined;
}

/** Public view of a build (no work dir paths). */
export function buildView(b: DashboardBuild, c: ViewContext): Record<string, unknown> {
  // Each text that came from a build or a user goes through the masker.
  const m = <T extends string | undefined | null>(text: T) => (typeof text === "string" ? c.masker.mask(text) : text);
  return {
    id: b.id,
    image: b.image,
    version: m(b.version),
    projectId: b.projectId,
    projectPath: m(b.projectPath),
    mrIid: b.mrIid,
    sha: b.sha,
    requestedBy: m(b.requestedBy),
    state: b.state,
    currentStep: b.state === "running" ? (m(c.currentStep?.(b.id)) ?? null) : null,
    reason: m(b.reason),
    failingStep: m(b.failingStep),
    createdAt: b.createdAt,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    durationMs: buildDuration(b, c.now) ?? null,
    // The tsimg worker that ran it (docs/scale-out.md); null in serve's own process.
    worker: b.worker,
    links: gitlabLinks(c.gitlabUrl, { ...b, projectPath: m(b.projectPath) }),
    artifacts: b.artifacts.map((a) => ({
      name: m(a.file.split("/").pop()),
      size: a.size ?? null,
      sha256: a.sha256 ?? null,
      uploadedTo: m(a.uploadedTo) ?? null,
    })),
  };
}

/** Public view of an image's row. */
export function imageView(row: ImageRow, masker: Masker): Record<string, unknown> {
  return { ...row, version: row.version === null ? null : masker.mask(row.version) };
}
