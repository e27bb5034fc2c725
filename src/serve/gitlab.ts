// A small GitLab REST v4 client: only the calls serve makes. The token travels in the
// PRIVATE-TOKEN header, never in a URL, so it cannot leak through an error message. Every
// note it posts has its mentions neutralized, whatever put them there.
import { discoverImages, globRoots, type DiscoveredImage } from "./image-discovery.js";
import { TsimgError } from "../index.js";

/** GitLab answered with an error status (or could not be reached). */
export class GitLabError extends TsimgError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** GitLab could not be reached, timed out, was rate-limited or failed (5xx): trying again later may work. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof GitLabError)) return false;
  return (
    error.status === 0 || error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500
  );
}

/**
 * Text no GitLab user is notified by: "@" gets a zero-width space after it (`@all`, `@group`,
 * `@user` stay readable and mention no one), and an "@" written as an HTML entity is shown
 * as text instead of being decoded into one.
 */
export function neutralizeMentions(text: string): string {
  return text.replace(/@/g, "@\u200b").replace(/&(#0*64|#x0*40|commat);/gi, "&amp;$1;");
}

export type CommitState = "pending" | "running" | "success" | "failed" | "canceled";

/** How long a call may take, its answer read; an archive (up to 512 MiB) gets longer. */
const CALL_TIMEOUT_MS = 30_000;
const ARCHIVE_TIMEOUT_MS = 10 * 60_000;

/** Pauses before GET is tried again after a passing failure (a GET changes nothing, so repeating it is safe). */
const GET_RETRY_MS = [250, 1000];

/** The parts of a merge request serve looks at. */
export interface MergeRequestInfo {
  iid: number;
  state: string;
  sha: string;
  sourceProjectId: number;
  targetProjectId: number;
  /** The branch it merges into. */
  targetBranch?: string;
  webUrl?: string;
}

/** The GitLab calls serve makes; tests give a stand-in server, not a fake of this. */
export class GitLabClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** The bot's own account (to ignore its notes). */
  async currentUser(): Promise<{ id: number; username: string }> {
    return (await this.call("GET", "/user")) as { id: number; username: string };
  }

  /**
   * The user's access level in the project, counting inherited membership; 0 when not a
   * member, and 0 unless the account is active (not blocked, deactivated, banned or locked),
   * the membership active (not awaiting approval) and not expired.
   */
  async accessLevel(projectId: number, userId: number, today = new Date().toISOString().slice(0, 10)): Promise<number> {
    try {
      const member = (await this.call("GET", `/projects/${projectId}/members/all/${userId}`)) as {
        access_level?: unknown;
        state?: unknown;
        membership_state?: unknown;
        locked?: unknown;
        expires_at?: unknown;
      };
      if (member.state !== "active" || member.locked === true) return 0;
      if (member.membership_state !== undefined && member.membership_state !== "active") return 0;
      if (typeof member.expires_at === "string" && member.expires_at.slice(0, 10) < today) return 0;
      return typeof member.access_level === "number" ? member.access_level : 0;
    } catch (error) {
      if (error instanceof GitLabError && error.status === 404) return 0;
      throw error;
    }
  }

  async mergeRequest(projectId: number, iid: number): Promise<MergeRequestInfo> {
    const mr = (await this.call("GET", `/projects/${projectId}/merge_requests/${iid}`)) as Record<string, unknown>;
    return {
      iid: mr.iid as number,
      state: mr.state as string,
      sha: mr.sha as string,
      sourceProjectId: mr.source_project_id as number,
      targetProjectId: mr.target_project_id as number,
      ...(typeof mr.target_branch === "string" ? { targetBranch: mr.target_branch } : {}),
      ...(typeof mr.web_url === "string" ? { webUrl: mr.web_url } : {}),
    };
  }

  /** The images at a commit by serve.toml's image_globs, from the repository tree API (recursive, paged). */
  async images(projectId: number, sha: string, globs: string[]): Promise<DiscoveredImage[]> {
    const paths: string[] = [];
    for (const root of globRoots(globs)) {
      for (let page = 1; ; page++) {
        const query = new URLSearchParams({
          path: root,
          ref: sha,
          recursive: "true",
          per_page: "100",
          page: String(page),
        });
        let entries: { type: string; path: string }[];
        try {
          entries = (await this.call("GET", `/projects/${projectId}/repository/tree?${query}`)) as typeof entries;
        } catch (error) {
          if (error instanceof GitLabError && error.status === 404) break;
          throw error;
        }
        paths.push(...entries.filter((e) => e.type === "blob").map((e) => e.path));
        if (entries.length < 100) break;
      }
    }
    return discoverImages(paths, globs);
  }

  /** Paths a merge request changes (new and old), from the MR diffs API. */
  async changedPaths(projectId: number, iid: number): Promise<string[]> {
    const diffs = (await this.call("GET", `/projects/${projectId}/merge_requests/${iid}/diffs?per_page=100`)) as {
      old_path: string;
      new_path: string;
    }[];
    return [...new Set(diffs.flatMap((d) => [d.old_path, d.new_path]))];
  }

  /** Sets a commit status. GitLab refuses repeating a state ("Cannot transition status"): that is not an error here. */
  async setStatus(
    projectId: number,
    sha: string,
    status: { name: string; state: CommitState; targetUrl: string; description: string },
  ): Promise<void> {
    try {
      await this.call("POST", `/projects/${projectId}/statuses/${sha}`, {
        state: status.state,
        name: status.name,
        target_url: status.targetUrl,
        description: status.description.slice(0, 255),
      });
    } catch (error) {
      if (error instanceof GitLabError && error.status === 400 && /Cannot transition status/i.test(error.message))
        return;
      throw error;
    }
  }

  /** Adds an award emoji to a note on a merge request. */
  async awardEmoji(projectId: number, iid: number, noteId: number, name: string): Promise<void> {
    await this.call("POST", `/projects/${projectId}/merge_requests/${iid}/notes/${noteId}/award_emoji`, { name });
  }

  async createNote(projectId: number, iid: number, body: string): Promise<number> {
    const note = (await this.call("POST", `/projects/${projectId}/merge_requests/${iid}/notes`, {
      body: neutralizeMentions(body),
    })) as { id: number };
    return note.id;
  }

  async editNote(projectId: number, iid: number, noteId: number, body: string): Promise<void> {
    await this.call("PUT", `/projects/${projectId}/merge_requests/${iid}/notes/${noteId}`, {
      body: neutralizeMentions(body),
    });
  }

  /**
   * The files of a commit as a tar.gz, from the repository archive API (everything under one
   * top folder, as GitLab names it). Refused past maxBytes, and read no further. The archive
   * of the MR's target project has the MR head even for a fork (GitLab keeps it under
   * refs/merge-requests). GitLab.com limits this endpoint per project and user (a 429 then).
   */
  async archive(projectId: number, sha: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const path = `/projects/${projectId}/repository/archive.tar.gz?${new URLSearchParams({ sha })}`;
    // A 429 is not waited out here: the caller has another way (a clone).
    const read = (response: Response) => readAtMost(response, maxBytes, path);
    return this.request("GET", path, undefined, read, { signal, retryLimited: false, timeoutMs: ARCHIVE_TIMEOUT_MS });
  }

  /** A JSON call. */
  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const text = await this.request(method, path, body, (response) => response.text());
    return text ? JSON.parse(text) : undefined;
  }

  /** A call whose answer `read` takes within timeoutMs (a GET is tried again after a passing failure; a 429 too unless `retryLimited` is false). */
  private async request<T>(
    method: string,
    path: string,
    body: unknown,
    read: (response: Response) => Promise<T>,
    options: { signal?: AbortSignal; retryLimited?: boolean; timeoutMs?: number } = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.callOnce(method, path, body, read, options.signal, options.timeoutMs ?? CALL_TIMEOUT_MS);
      } catch (error) {
        const pause = GET_RETRY_MS[attempt];
        const limited = error instanceof GitLabError && error.status === 429;
        if (method !== "GET" || pause === undefined || !isTransient(error) || options.signal?.aborted) throw error;
        if (limited && options.retryLimited === false) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private async callOnce<T>(
    method: string,
    path: string,
    body: unknown,
    read: (response: Response) => Promise<T>,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<T> {
    const what = `GitLab ${method} ${path.split("?")[0]}`;
    let response: Response;
    // A plain controller and timer: AbortSignal.timeout() builds a transferable signal, which
    // cost more CPU than the rest of a call under a burst of deliveries.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    timer.unref();
    const cancel = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      try {
        response = await this.fetchImpl(`${this.baseUrl}/api/v4${path}`, {
          method,
          headers: {
            "PRIVATE-TOKEN": this.token,
            ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: controller.signal,
        });
        if (response.ok) return await read(response);
      } catch (error) {
        if (error instanceof GitLabError) throw error;
        throw new GitLabError(`${what}: ${(error as Error).message}`, 0);
      }
      const text = await response.text().catch(() => "");
      let message = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
        message = JSON.stringify(parsed.message ?? parsed.error ?? parsed);
      } catch {
        // not JSON: keep the text
      }
      throw new GitLabError(`${what}: ${response.status} ${message}`, response.status);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", cancel);
    }
  }
}

/** A response body, or a GitLabError (status 413, not worth a retry) once it passes maxBytes. */
async function readAtMost(response: Response, maxBytes: number, path: string): Promise<Buffer> {
  const tooLarge = () =>
    new GitLabError(`GitLab GET ${path.split("?")[0]}: larger than ${Math.round(maxBytes / 2 ** 20)} MiB`, 413);
  if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
