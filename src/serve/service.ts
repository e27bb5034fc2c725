// What serve does with a delivery once it has been acknowledged: filter, authorize,
// parse the command, queue builds (superseding older ones), and report. Webhook intake
// calls deliver() after answering GitLab, so nothing here is on the response path; the
// delivery queue (deliveries.ts) tries again what GitLab's outages kept from being handled.
import { join } from "node:path";
import { Masker } from "../index.js";
import { accessText, isAllowedProject, isFork, refusal } from "./access.js";
import { helpText, parseCommand, resolveImages } from "./commands.js";
import { defaultImageGlobs, imagesAtHead, imagesChanged } from "./image-discovery.js";
import type { ServeConfig } from "./config.js";
import { DeliveryQueue } from "./deliveries.js";
import { serveEvent } from "./event-log.js";
import type { GitLabClient } from "./gitlab.js";
import type { LogStore } from "./logs.js";
import { JobQueue } from "./queue.js";
import { RemoteBuilds } from "./queue-client.js";
import { FOLLOWERS, recoverQueued } from "./queue-runs.js";
import { BuildRuns } from "./build-runs.js";
import { ImageChanges } from "./image-changes.js";
import { Reporter } from "./report.js";
import { removeWorkDir, type BuildFunction } from "./runner.js";
import { Screens } from "./screens.js";
import type { BuildRecord, RequestRecord, Store } from "./store.js";
import { prepareStateDir } from "./state-dir.js";
import { parseObject, type WebhookEvent } from "./webhook.js";

/** Collaborators of the service, injected. */
export interface ServiceDeps {
  config: ServeConfig;
  store: Store;
  logs: LogStore;
  gitlab: GitLabClient;
  buildFunction: BuildFunction;
  now: () => number;
  /** Where unexpected errors go (default: stderr). */
  onError?: (error: unknown) => void;
}

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The build service: intake decisions, the queue, and reporting. */
export class BuildService {
  readonly queue: JobQueue;
  readonly reporter: Reporter;
  /** Console screenshots of running builds (and failed builds' last screens) for the dashboard. */
  readonly screens: Screens;
  /** Successful builds' SBOMs by target branch, for the note's "what changes in the image". */
  /** The SBOMs of successful builds, and what changed between them (the note, the dashboard). */
  readonly imageChanges: ImageChanges;
  /** Aborted by close(). */
  private readonly stopping = new AbortController();
  /** The build queue (serve.toml's [queue]): builds run on tsimg workers; undefined: in serve's process. */
  readonly remote: RemoteBuilds | undefined;
  private readonly masker = new Masker();
  /** Runs the builds and records their outcomes. */
  private readonly runs: BuildRuns;
  private botId: Promise<number> | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  /** Acknowledged deliveries waiting to be handled, with their raw bodies (parsed only when handled). */
  private readonly deliveries: DeliveryQueue;

  constructor(private readonly deps: ServiceDeps) {
    const { config, store, logs, gitlab } = deps;
    for (const s of Object.values(config.secrets)) this.masker.add(s);
    this.queue = new JobQueue(config.queue ? FOLLOWERS : config.concurrency);
    this.remote = config.queue ? new RemoteBuilds(config.queue, (e) => this.error(e)) : undefined;
    this.screens = new Screens(join(config.stateDir, "screenshots"), deps.now);
    prepareStateDir(config);
    this.imageChanges = new ImageChanges(config.stateDir);
    this.deliveries = new DeliveryQueue({
      store,
      now: deps.now,
      dispatch: (work) => this.dispatch(work),
      onError: (e) => this.error(e),
      handle: async (key, event, body) => {
        // Parsed here, not at intake: a delivery with an Idempotency-Key is answered without it.
        const payload = parseObject(body);
        if (payload) await (event === "note" ? this.handleNote(payload, key) : this.handleMergeRequest(payload));
      },
    });
    this.reporter = new Reporter({
      gitlab,
      masker: this.masker,
      publicUrl: config.publicUrl,
      now: deps.now,
      getRequest: (id) => store.getRequest(id),
      buildsOf: (id) => store.buildsOfRequest(id),
      getBuild: (id) => store.getBuild(id),
      tail: (id) => logs.tail(id, 30),
      changes: (build) => this.imageChanges.section(build),
      setResultNote: (r, n) => store.setResultNote(r, n),
      onError: (e) => this.error(e),
    });
    this.runs = new BuildRuns({
      service: deps,
      reporter: this.reporter,
      screens: this.screens,
      sandbox: {
        ...(config.buildUser ? { user: config.buildUser } : {}),
        env: config.buildEnv ?? {},
        cacheDir: join(config.stateDir, "cache"),
      },
      imageChanges: this.imageChanges,
      remote: this.remote,
      queue: this.queue,
      stopping: this.stopping.signal,
      finish: (id, state, fields) => this.finish(id, state, fields),
      error: (e) => this.error(e),
    });
  }

  /** Runs a handler in the background, tracked so close() and tests can wait for it. */
  dispatch(work: () => Promise<void>): void {
    const p = work().catch((e) => this.error(e));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * A delivery the intake acknowledged (and recorded): handled in order of arrival, a few at
   * a time. Once handled, its record is dropped; a restart handles what is left
   * (resumeDeliveries).
   */
  deliver(key: string, event: WebhookEvent, body: string): void {
    this.deliveries.push(key, event, body);
  }

  /** Handles the deliveries a previous process acknowledged but did not handle (those waiting for a retry too). */
  resumeDeliveries(): number {
    return this.deliveries.resume();
  }

  /** Waits until every delivery, dispatched handler and report has finished (builds may still run; deliveries waiting for a retry are not waited for). */
  async idle(): Promise<void> {
    while (this.pending.size > 0 || this.deliveries.length > 0) {
      if (this.pending.size > 0) await Promise.all(this.pending);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await this.reporter.idle();
  }

  /** A Note Hook delivery; `deliveryKey` ties the note to the one delivery that handles it. */
  async handleNote(p: Payload, deliveryKey: string): Promise<void> {
    const note = p.object_attributes ?? {};
    const projectId = Number(p.project?.id ?? p.project_id);
    const iid = Number(p.merge_request?.iid);
    const noteId = Number(note.id);
    if (
      note.noteable_type !== "MergeRequest" ||
      !Number.isInteger(iid) ||
      !Number.isInteger(noteId) ||
      !this.allowed(p.project, projectId)
    )
      return;
    // object_attributes.action exists since GitLab 16.11; before it, an edit has updated_at != created_at.
    const created =
      note.action === undefined
        ? note.created_at === note.updated_at || note.updated_at === undefined
        : note.action === "create";
    if (!created || note.system === true || typeof note.note !== "string") return;
    const command = parseCommand(note.note);
    if (command.kind === "none") return;
    const userId = Number(p.user?.id ?? note.author_id);
    if (userId === (await this.botUserId())) return;
    const { gitlab, config, store } = this.deps;
    // One handling per note: the same note re-sent under a new Idempotency-Key belongs to the
    // delivery that claimed it first (no second emoji, no second reply, no second build).
    if (!store.claimNote(projectId, noteId, deliveryKey)) return;
    const reply = (body: string) => gitlab.createNote(projectId, iid, this.masker.mask(body));
    // The emoji, the access check, the MR and its images read at once: a build's start waits for them.
    if (!store.noteHasEmoji(projectId, noteId))
      this.dispatch(() =>
        gitlab.awardEmoji(projectId, iid, noteId, "eyes").then(
          () => store.setNoteEmoji(projectId, noteId),
          (e) => this.error(e),
        ),
      );
    const mrRead = gitlab.mergeRequest(projectId, iid);
    mrRead.catch(() => undefined); // awaited below, unless the access check ends the handling first
    const globs = imageGlobs(config);
    const seen = { sha: p.merge_request?.last_commit?.id, projectId: Number(p.merge_request?.source_project_id) };
    const imagesOfHead = imagesAtHead(gitlab, seen, globs);

    const level = await gitlab.accessLevel(projectId, userId);
    if (level < config.minAccessLevel) return void (await reply(refusal(config.minAccessLevel, level)));
    const mr = await mrRead;
    if (mr.state !== "opened")
      return void (await reply(`This merge request is ${mr.state}: tsimg only builds open merge requests.`));
    const fork = isFork(mr.sourceProjectId, mr.targetProjectId);
    if (fork && !config.allowForks)
      return void (await reply(
        "This merge request comes from a fork: tsimg does not build fork merge requests here (`allow_forks` is off).",
      ));
    if (command.kind === "build") {
      // Build only the commit the commenter saw: a push after the comment (or while its
      // delivery waited out an outage) brings code no one with the level asked for. A fork
      // must name it; without last_commit (an older GitLab) a same-project MR builds its head.
      const seen = p.merge_request?.last_commit?.id;
      if ((fork || seen !== undefined) && String(seen) !== mr.sha)
        return void (await reply(
          `New commits were pushed to this merge request after your comment (its head is now \`${String(mr.sha).slice(0, 8)}\`): review them and comment \`/tsimg build\` again. No build was started.`,
        ));
    }
    const available = (await imagesOfHead(mr)).map((image) => image.name);

    if (command.kind === "help") return void (await reply(helpText(available, globs, command.problem)));
    if (command.kind === "cancel") {
      const n = this.cancelMr(projectId, iid, `cancelled by ${p.user?.username ?? "a user"}`);
      return void (await reply(
        n === 0
          ? "Nothing to cancel: no build of this merge request is queued or running."
          : `Cancelled ${n} build${n === 1 ? "" : "s"}.`,
      ));
    }
    const resolved = resolveImages(command.images, available);
    if ("problem" in resolved) return void (await reply(helpText(available, globs, resolved.problem)));
    // A delivery handled again after a restart: one request per note.
    if (store.requestOfNote(projectId, noteId)) return;
    const request = store.addRequest({
      projectId,
      mrIid: iid,
      noteId,
      requestedBy: String(p.user?.username ?? userId),
    });
    const repoUrl = String(p.merge_request?.source?.git_http_url ?? p.project?.git_http_url ?? p.project?.http_url);
    for (const image of resolved.images) this.enqueue(request, image, mr.sha, repoUrl);
  }

  /**
   * A Merge Request Hook delivery. New commits make the MR's queued and running builds stale:
   * they are rebuilt at the new head only when the push comes from the MR's own project and
   * its author has min_access_level (else they are cancelled, and a member must comment
   * `/tsimg build` again); autobuild follows the same rule. Closing or merging cancels them.
   */
  async handleMergeRequest(p: Payload): Promise<void> {
    const attrs = p.object_attributes ?? {};
    const projectId = Number(p.project?.id ?? attrs.target_project_id);
    const iid = Number(attrs.iid);
    if (!Number.isInteger(iid) || !this.allowed(p.project, projectId)) return;
    if (attrs.action === "close" || attrs.action === "merge") {
      this.cancelMr(projectId, iid, `merge request ${attrs.action === "merge" ? "merged" : "closed"}`);
      return;
    }
    const sha = String(attrs.last_commit?.id ?? "");
    if (!attrs.oldrev || !/^[0-9a-f]{40}$/.test(sha)) return;
    const { config, gitlab, store } = this.deps;
    const active = store.activeBuilds(projectId, iid);
    const stale = active.filter((b) => b.sha !== sha);
    // Images already building at this head (a delivery handled again) need nothing more.
    const current = new Set(active.filter((b) => b.sha === sha).map((b) => b.image));
    if (stale.length === 0 && !config.autobuild) return;
    const refused = await this.whyPushCannotBuild(p, projectId);
    const short = sha.slice(0, 8);
    if (refused) {
      for (const old of stale)
        this.cancel(
          old.id,
          `superseded by a push of ${short}; not rebuilt: ${refused}. A member with ${accessText(config.minAccessLevel)} must comment \`/tsimg build\``,
        );
      return;
    }
    const repoUrl = String(attrs.source?.git_http_url ?? p.project?.git_http_url);
    for (const old of stale) {
      const request = store.getRequest(old.requestId);
      if (!request) continue;
      this.enqueue(request, old.image, sha, repoUrl, `superseded by a push of ${short}`);
      current.add(old.image);
    }
    if (!config.autobuild) return;
    const available = await gitlab.images(Number(attrs.source_project_id ?? projectId), sha, imageGlobs(config));
    const changed = await gitlab.changedPaths(projectId, iid);
    const images = imagesChanged(available, changed).filter((name) => !current.has(name));
    if (images.length === 0) return;
    const request = store.addRequest({ projectId, mrIid: iid, noteId: null, requestedBy: "autobuild" });
    for (const image of images) this.enqueue(request, image, sha, repoUrl);
  }

  /** Why a push may not start builds (undefined: it may): a fork's push never does; else its author needs min_access_level. */
  private async whyPushCannotBuild(p: Payload, projectId: number): Promise<string | undefined> {
    const attrs = p.object_attributes ?? {};
    if (isFork(attrs.source_project_id, attrs.target_project_id)) return "the push is to a fork";
    const userId = Number(p.user?.id);
    if (!Number.isInteger(userId)) return "the push's author is unknown";
    const level = await this.deps.gitlab.accessLevel(projectId, userId);
    if (level >= this.deps.config.minAccessLevel) return undefined;
    return `its author ${String(p.user?.username ?? userId)} has ${accessText(level)}`;
  }

  /** Queues a build, superseding the MR's active build of the same image (whose `canceled` is reported first). */
  enqueue(request: RequestRecord, image: string, sha: string, repoUrl: string, supersedeReason?: string): BuildRecord {
    const { store } = this.deps;
    const build = store.addBuild({
      requestId: request.id,
      projectId: request.projectId,
      mrIid: request.mrIid,
      image,
      sha,
      repoUrl,
      requestedBy: request.requestedBy,
    });
    for (const old of store.activeBuilds(request.projectId, request.mrIid, image))
      if (old.id !== build.id) this.cancel(old.id, supersedeReason ?? `superseded by build #${build.id}`);
    void this.reporter.update(build.id);
    this.queue.push({
      id: build.id,
      run: (signal) => this.runs.run(build.id, signal),
      dropped: (reason) => this.finish(build.id, "canceled", { reason }),
    });
    return build;
  }

  /**
   * Cancels a queued or running build. It is canceled at once, for GitLab and the dashboard:
   * a running build's process stops in the background, and what it ends with is not recorded
   * over the cancel.
   */
  cancel(buildId: number, reason: string): void {
    if (this.queue.cancel(buildId, reason) !== "queued") this.finish(buildId, "canceled", { reason });
  }

  /** Cancels every active build of an MR; returns how many. */
  cancelMr(projectId: number, iid: number, reason: string): number {
    const active = this.deps.store.activeBuilds(projectId, iid);
    for (const b of active) this.cancel(b.id, reason);
    return active.length;
  }

  /** Marks builds a previous process left unfinished as failed, and reports them. */
  async recover(killLeftovers: (workDir: string) => void): Promise<void> {
    if (this.remote) return recoverQueued(this.runs.queueDeps(this.remote));
    for (const b of this.deps.store.unfinishedBuilds()) {
      if (b.workDir) {
        killLeftovers(b.workDir);
        removeWorkDir(b.workDir);
      }
      const reason =
        b.state === "running"
          ? "service restarted while the build was running"
          : "service restarted before the build started";
      this.deps.logs.append(b.id, serveEvent(b.image, reason, this.deps.now()));
      this.finish(b.id, "failed", { reason });
    }
    await this.reporter.idle();
  }

  async close(): Promise<void> {
    this.stopping.abort(new Error("the service stopped"));
    // Deliveries not handled yet (or waiting for a retry) stay on disk: the next start handles them.
    this.deliveries.close();
    // With a queue, builds go on on their workers: the next start follows them again.
    if (this.remote) await this.remote.close();
    else await this.queue.close("the service stopped");
    await this.idle();
    this.imageChanges.close();
  }

  private finish(
    buildId: number,
    state: "success" | "failed" | "canceled",
    fields: Parameters<Store["finish"]>[2],
  ): void {
    if (!this.deps.store.finish(buildId, state, fields)) return;
    this.deps.logs.publishState(buildId, state);
    void this.reporter.update(buildId);
  }

  /** Whether serve acts for the project; an allowed project's path is kept for the dashboard's links to GitLab. */
  private allowed(project: Payload | undefined, projectId: number): boolean {
    if (!isAllowedProject(this.deps.config.allowedProjects, projectId, project)) return false;
    const path: unknown = project?.path_with_namespace;
    if (typeof path === "string") this.deps.store.queries.rememberProject(projectId, path);
    return true;
  }

  /** The bot's own user id; a failure is thrown (the delivery is tried again), never taken for "not the bot". */
  private botUserId(): Promise<number> {
    this.botId ??= this.deps.gitlab.currentUser().then(
      (u) => u.id,
      (e: unknown) => {
        this.botId = undefined;
        throw e;
      },
    );
    return this.botId;
  }

  private error(error: unknown): void {
    (
      this.deps.onError ?? ((e) => console.error(`tsimg serve: ${this.masker.mask((e as Error).message ?? String(e))}`))
    )(error);
  }
}

/** serve.toml's image_globs, or the images_dir default for a config built without them. */
function imageGlobs(config: ServeConfig): string[] {
  return config.imageGlobs ?? defaultImageGlobs(config.imagesDir);
}
