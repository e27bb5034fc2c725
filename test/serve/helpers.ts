// Test collaborators for serve: a GitLab API stand-in (node:http, GitLab's documented
// endpoints and payload shapes), a local git repository, a fake build function, and
// webhook payloads shaped like GitLab's.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import type { ServeConfig } from "../../src/serve/config.js";
import type { BuildFunction } from "../../src/serve/runner.js";

export const TOKEN = "glpat-test-token-123456";
export const SECRET = "webhook-secret-abcdef";
export const BOT_ID = 99;
export const PROJECT_ID = 7;

export interface RecordedCall {
  method: string;
  path: string;
  body: any;
  token: string | undefined;
}

/** What GET /projects/:id/members/all/:user_id answers besides access_level (GitLab's member fields). */
export interface MemberFields {
  state?: string;
  membership_state?: string;
  locked?: boolean;
  expires_at?: string | null;
}

/** GitLab's REST API, as much of it as serve calls; records every request. */
export class GitLabStandIn {
  calls: RecordedCall[] = [];
  members = new Map<number, number>([
    [1, 30],
    [2, 10],
  ]);
  /** Per user, fields that override the member answer's defaults (state "active", membership_state "active"). */
  memberFields = new Map<number, MemberFields>();
  mrs = new Map<number, { state: string; sha: string; source_project_id: number; target_project_id: number }>();
  images: string[] = ["tinyos"];
  /** Every file of the repository (repository tree API); undefined: images/<name>.toml for each of `images`. */
  files: string[] | undefined;
  /** The git repository the archive API packs (GET /projects/:id/repository/archive); undefined: 404. */
  repoDir: string | undefined;
  /** While true, the archive API answers 429, as GitLab.com's rate limit on it does. */
  archiveRateLimited = false;
  /** When set, the MR's head becomes this sha right after the MR is first read (a push in between). */
  moveHeadAfterRead: string | undefined;
  notes: { id: number; body: string; edits: string[] }[] = [];
  statuses: { sha: string; name: string; state: string; target_url: string; description: string }[] = [];
  emojis: { noteId: number; name: string }[] = [];
  /** Status posts GitLab refused (its state machine: e.g. pending on a running status). */
  refusedStatuses: { sha: string; name: string; state: string; from: string }[] = [];
  /** While > 0, every API call answers 503 (an outage) and counts this down. */
  failNext = 0;
  /** Called for every call; the answer waits for what it returns (a slow GitLab, for races). */
  holdCall: ((method: string, path: string) => Promise<void> | undefined) | undefined;
  /** GETs of a merge request so far. */
  mrReads = 0;
  /** Called with the number of each GET of a merge request; the answer waits for what it returns (a slow read, for races). */
  holdMrRead: ((read: number) => Promise<void> | undefined) | undefined;
  private server: Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.server = createServer(
      (req, res) =>
        void this.handle(req).then(([status, body]) => {
          if (Buffer.isBuffer(body)) {
            res.writeHead(status, { "Content-Type": "application/octet-stream", "Content-Length": body.length });
            return void res.end(body);
          }
          res.writeHead(status, { "Content-Type": "application/json" });
          res.end(JSON.stringify(body));
        }),
    );
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => this.server?.close(() => r()) ?? r());
  }

  statusesOf(name = "tsimg/tinyos"): string[] {
    return this.statuses.filter((s) => s.name === name).map((s) => `${s.state}@${s.sha.slice(0, 7)}`);
  }

  private async handle(req: IncomingMessage): Promise<[number, unknown]> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    const body = text ? JSON.parse(text) : undefined;
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname.replace(/^\/api\/v4/, "");
    this.calls.push({
      method: req.method ?? "",
      path: `${path}${url.search}`,
      body,
      token: req.headers["private-token"] as string | undefined,
    });
    if (req.headers["private-token"] !== TOKEN) return [401, { message: "401 Unauthorized" }];
    await this.holdCall?.(req.method ?? "", path);
    if (this.failNext > 0) {
      this.failNext -= 1;
      return [503, { message: "503 Service Unavailable" }];
    }
    let m: RegExpExecArray | null;
    if (path === "/user") return [200, { id: BOT_ID, username: "tsimg-bot" }];
    if ((m = /^\/projects\/(\d+)\/members\/all\/(\d+)$/.exec(path))) {
      const level = this.members.get(Number(m[2]));
      const fields = {
        state: "active",
        membership_state: "active",
        locked: false,
        expires_at: null,
        ...this.memberFields.get(Number(m[2])),
      };
      return level === undefined
        ? [404, { message: "404 Not found" }]
        : [200, { id: Number(m[2]), username: `user${m[2]}`, access_level: level, ...fields }];
    }
    if ((m = /^\/projects\/(\d+)\/merge_requests\/(\d+)$/.exec(path))) {
      this.mrReads += 1;
      await this.holdMrRead?.(this.mrReads);
      const mr = this.mrs.get(Number(m[2]));
      if (!mr) return [404, { message: "404 Not found" }];
      const answer = { iid: Number(m[2]), ...mr };
      if (this.moveHeadAfterRead) [mr.sha, this.moveHeadAfterRead] = [this.moveHeadAfterRead, undefined];
      return [200, answer];
    }
    if ((m = /^\/projects\/(\d+)\/repository\/tree$/.exec(path))) {
      // The repository's files: `files` when a test sets them, else images/<name>.toml per image.
      const root = `${url.searchParams.get("path") ?? ""}/`;
      const files = this.files ?? this.images.map((name) => `images/${name}.toml`);
      const under = files.filter((f) => f.startsWith(root));
      return [200, under.map((f) => ({ type: "blob", name: f.split("/").at(-1), path: f }))];
    }
    if ((m = /^\/projects\/(\d+)\/repository\/archive(\.tar\.gz)?$/.exec(path))) {
      if (this.archiveRateLimited)
        return [429, { message: "This archive has been requested too many times. Try again later." }];
      const sha = url.searchParams.get("sha") ?? "HEAD";
      return this.archive(sha);
    }
    if ((m = /^\/projects\/(\d+)\/merge_requests\/(\d+)\/diffs$/.exec(path)))
      return [200, [{ old_path: "images/tinyos.toml", new_path: "images/tinyos.toml" }]];
    if (req.method === "POST" && (m = /^\/projects\/(\d+)\/statuses\/([0-9a-f]+)$/.exec(path))) {
      // GitLab (Ci::CreateCommitStatusService) updates the status of that name and sha that is
      // still pending or running, else creates one ("created"), then applies the state's event
      // (CommitStatus's state machine); an event not allowed from the current state is a 400.
      const last = this.statuses.filter((s) => s.sha === m![2] && s.name === body.name).at(-1);
      const from = last && (last.state === "pending" || last.state === "running") ? last.state : "created";
      const event = {
        pending: "enqueue",
        running: from === "created" ? "enqueue" : "run",
        success: "success",
        failed: "drop",
        canceled: "cancel",
      }[body.state as string];
      const allowed: Record<string, string[]> = {
        enqueue: ["created"],
        run: ["pending"],
        success: ["created", "pending", "running"],
        drop: ["created", "pending", "running"],
        cancel: ["created", "pending", "running"],
      };
      if (!event || !allowed[event]!.includes(from)) {
        this.refusedStatuses.push({ sha: m[2] as string, name: body.name, state: body.state, from });
        return [
          400,
          {
            message: `Cannot transition status via :${event === "enqueue" && body.state === "running" ? "run" : event} from :${from}`,
          },
        ];
      }
      this.statuses.push({ sha: m[2] as string, ...body });
      return [201, { id: this.statuses.length, ...body }];
    }
    if (
      req.method === "POST" &&
      (m = /^\/projects\/(\d+)\/merge_requests\/(\d+)\/notes\/(\d+)\/award_emoji$/.exec(path))
    ) {
      this.emojis.push({ noteId: Number(m[3]), name: body.name });
      return [201, { id: this.emojis.length, name: body.name }];
    }
    if (req.method === "POST" && /^\/projects\/(\d+)\/merge_requests\/(\d+)\/notes$/.test(path)) {
      const note = { id: 5000 + this.notes.length, body: body.body as string, edits: [] as string[] };
      this.notes.push(note);
      return [201, { id: note.id, body: note.body }];
    }
    if (req.method === "PUT" && (m = /^\/projects\/(\d+)\/merge_requests\/(\d+)\/notes\/(\d+)$/.exec(path))) {
      const note = this.notes.find((n) => n.id === Number(m![3]));
      if (!note) return [404, { message: "404 Note Not Found" }];
      note.edits.push(body.body);
      note.body = body.body;
      return [200, { id: note.id, body: note.body }];
    }
    return [404, { message: `404 ${path} not in the stand-in` }];
  }

  /** GitLab's tar.gz of a commit: every file under one top folder named after the project and commit. */
  private archive(sha: string): Promise<[number, unknown]> {
    const dir = this.repoDir;
    if (!dir || !/^[0-9a-f]{40}$|^HEAD$/.test(sha)) return Promise.resolve([404, { message: "404 Not Found" }]);
    const args = ["archive", "--format=tar.gz", `--prefix=images-${sha}-${sha}/`, sha];
    return new Promise((resolve) =>
      execFile("git", args, { cwd: dir, encoding: "buffer", maxBuffer: 1 << 30 }, (error, stdout) =>
        resolve(error ? [404, { message: "404 Commit Not Found" }] : [200, stdout]),
      ),
    );
  }
}

/** A git repository with images/tinyos.toml committed; returns its path and head sha. */
export function makeRepo(): { dir: string; sha: string; commit: (file: string, text: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-serve-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: dir,
      encoding: "utf8",
    }).trim();
  git("init", "--quiet", "-b", "main");
  const commit = (file: string, text: string) => {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
    git("add", "-A");
    git("commit", "--quiet", "-m", `change ${file}`);
    return git("rev-parse", "HEAD");
  };
  const sha = commit("images/tinyos.toml", '[image]\nname = "tinyos"\n');
  return { dir, sha, commit };
}

/** serve settings for a test. */
export function testConfig(
  gitlabUrl: string,
  stateDir = mkdtempSync(join(tmpdir(), "tsimg-serve-state-")),
  extra: Partial<ServeConfig> = {},
): ServeConfig {
  return {
    host: "127.0.0.1",
    port: 0,
    publicUrl: "https://tsimg.example.com",
    gitlabUrl,
    allowedProjects: [String(PROJECT_ID)],
    minAccessLevel: 30,
    imagesDir: "images",
    stateDir,
    concurrency: 1,
    allowForks: false,
    autobuild: false,
    // Open, so tests about other things can read the dashboard; the token tests set one.
    dashboardOpen: true,
    maxLogBytes: 10 * 1024 * 1024,
    secrets: { gitlabToken: TOKEN, webhookSecret: SECRET },
    ...extra,
  };
}

/** A build function that logs a few lines, then either finishes with a small artifact or waits for its abort. */
export function fakeBuild(
  options: { hold?: boolean; fail?: boolean; lines?: number; gate?: Promise<void>; sbom?: () => string } = {},
): BuildFunction & { started: string[] } {
  const started: string[] = [];
  const fn = async (input: Parameters<BuildFunction>[0]) => {
    started.push(input.templatePath);
    const emit = (e: any) => input.onEvent({ build: "tinyos", time: Date.now(), ...e });
    emit({ type: "build-start" });
    emit({ type: "step-start", step: "boot", title: "Booting the VM" });
    for (let i = 1; i <= (options.lines ?? 3); i++) emit({ type: "log", level: "info", message: `line ${i}` });
    if (options.gate) await options.gate;
    if (options.hold || input.signal.aborted) {
      await new Promise<void>((resolve) =>
        input.signal.aborted ? resolve() : input.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      emit({ type: "step-end", step: "boot", ms: 5, outcome: "cancelled" });
      return { ok: false, cancelled: true, error: "build cancelled", artifacts: [] };
    }
    if (options.fail) {
      emit({ type: "step-end", step: "boot", ms: 5, outcome: "failed" });
      return { ok: false, cancelled: false, error: "ssh: handshake failed", artifacts: [] };
    }
    emit({ type: "step-end", step: "boot", ms: 5, outcome: "ok" });
    return {
      ok: true,
      cancelled: false,
      artifacts: [{ file: join(input.workDir, "output/tinyos.qcow2"), size: 1536, sha256: "a".repeat(64) }],
      ...(options.sbom ? { sbom: options.sbom() } : {}),
    };
  };
  return Object.assign(fn, { started });
}

/** A Note Hook payload as GitLab sends it for a comment on a merge request. */
export function notePayload(o: {
  note: string;
  noteId?: number;
  userId?: number;
  action?: string;
  system?: boolean;
  iid?: number;
  repo: string;
  sha: string;
}): Record<string, unknown> {
  const userId = o.userId ?? 1;
  return {
    object_kind: "note",
    event_type: "note",
    user: { id: userId, name: `User ${userId}`, username: `user${userId}`, avatar_url: "", email: "[REDACTED]" },
    project_id: PROJECT_ID,
    project: {
      id: PROJECT_ID,
      name: "images",
      path_with_namespace: "infra/images",
      web_url: "https://gitlab.example.com/infra/images",
      git_http_url: o.repo,
      git_ssh_url: "git@gitlab.example.com:infra/images.git",
      default_branch: "main",
    },
    object_attributes: {
      id: o.noteId ?? 1001,
      note: o.note,
      noteable_type: "MergeRequest",
      author_id: userId,
      created_at: "2024-05-01 10:00:00 UTC",
      updated_at: "2024-05-01 10:00:00 UTC",
      project_id: PROJECT_ID,
      system: o.system ?? false,
      noteable_id: 300,
      discussion_id: "d1",
      url: "https://gitlab.example.com/infra/images/-/merge_requests/3#note_1001",
      action: o.action ?? "create",
    },
    repository: {
      name: "images",
      url: "git@gitlab.example.com:infra/images.git",
      homepage: "https://gitlab.example.com/infra/images",
    },
    merge_request: {
      id: 300,
      iid: o.iid ?? 3,
      title: "Update tinyos",
      state: "opened",
      source_project_id: PROJECT_ID,
      target_project_id: PROJECT_ID,
      source_branch: "tinyos-update",
      target_branch: "main",
      last_commit: { id: o.sha, message: "change", url: "" },
      source: { name: "images", git_http_url: o.repo, path_with_namespace: "infra/images" },
      target: { name: "images", git_http_url: o.repo, path_with_namespace: "infra/images" },
    },
  };
}

/** A Merge Request Hook payload for a push of new commits (oldrev set). */
export function pushPayload(o: {
  iid?: number;
  oldrev: string;
  sha: string;
  repo: string;
  action?: string;
}): Record<string, unknown> {
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    user: { id: 1, name: "User 1", username: "user1" },
    project: { id: PROJECT_ID, path_with_namespace: "infra/images", git_http_url: o.repo },
    object_attributes: {
      iid: o.iid ?? 3,
      action: o.action ?? "update",
      oldrev: o.oldrev,
      state: "opened",
      source_project_id: PROJECT_ID,
      target_project_id: PROJECT_ID,
      last_commit: { id: o.sha },
      source: { git_http_url: o.repo },
      updated_at: "2024-05-01 10:05:00 UTC",
    },
  };
}

/** Posts a delivery to serve. */
export async function deliver(
  url: string,
  payload: unknown,
  options: { event?: string; token?: string | null; key?: string } = {},
): Promise<{ status: number; body: any; ms: number; serverMs?: number }> {
  const t0 = performance.now();
  const response = await fetch(`${url}/hooks/gitlab`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-Gitlab-Event": options.event ?? "Note Hook",
      ...(options.token === null ? {} : { "X-Gitlab-Token": options.token ?? SECRET }),
      ...(options.key ? { "Idempotency-Key": options.key } : {}),
    },
    body: JSON.stringify(payload),
  });
  const text = await response.text();
  const ms = performance.now() - t0;
  const timing = /(?:^|,)\s*intake;dur=([\d.]+)/.exec(response.headers.get("Server-Timing") ?? "");
  return {
    status: response.status,
    body: text ? JSON.parse(text) : undefined,
    ms,
    ...(timing ? { serverMs: Number(timing[1]) } : {}),
  };
}

/** Polls until check() is truthy; the deadline is generous, as a loaded CI machine runs git and node slowly. */
export async function until<T>(check: () => T | undefined | false, ms = 15_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A real PNG (8-bit RGB, one colour) of the given size, as QEMU's screendump would hand back. */
export function solidPng(width: number, height: number, rgb: [number, number, number] = [0, 0, 170]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, deflate, no filter, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", pixels),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
