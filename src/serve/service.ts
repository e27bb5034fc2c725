// What serve does with a delivery once it has been acknowledged: filter, authorize,
// parse the command, queue builds (superseding older ones), and report. Webhook intake
// calls handle*() after answering GitLab, so nothing here is on the response path.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Masker } from "../index.js";
import { helpText, parseCommand, resolveImages } from "./commands.js";
import type { ServeConfig } from "./config.js";
import type { GitLabClient } from "./gitlab.js";
import type { LogStore } from "./logs.js";
import { JobQueue } from "./queue.js";
import { Reporter } from "./report.js";
import { removeWorkDir, removeWorkDirLater, runOne, type BuildFunction } from "./runner.js";
import { Screens } from "./screens.js";
import type { BuildRecord, RequestRecord, Store } from "./store.js";
import type { WebhookEvent } from "./webhook.js";

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

/** Deliveries handled at once: enough to keep GitLab calls flowing, few enough that a burst of deliveries does not starve the intake. */
const HANDLERS = 8;
/** Intake first: while deliveries keep arriving (one in the last QUIET_MS), handling waits, but never longer than MAX_DEFER_MS. */
const QUIET_MS = 25;
const MAX_DEFER_MS = 2_000;
const ROLE: Record<number, string> = { 0: "no access", 5: "Minimal Access", 10: "Guest", 15: "Planner", 20: "Reporter", 30: "Developer", 40: "Maintainer", 50: "Owner" };
type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The build service: intake decisions, the queue, and reporting. */
export class BuildService {
  readonly queue: JobQueue;
  readonly reporter: Reporter;
  /** Console screenshots of running builds (and failed builds' last screens) for the dashboard. */
  readonly screens: Screens;
  private readonly masker = new Masker();
  private botId: Promise<number | undefined> | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  /** Acknowledged deliveries waiting to be handled, with their raw bodies (parsed only when handled). */
  private readonly deliveries: { key: string; event: WebhookEvent; body: string; at: number }[] = [];
  private handling = 0;
  private lastArrival = -Infinity;
  private deferTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ServiceDeps) {
    const { config, store, logs, gitlab } = deps;
    for (const s of Object.values(config.secrets)) this.masker.add(s);
    this.queue = new JobQueue(config.concurrency);
    this.screens = new Screens(join(config.stateDir, "screenshots"), deps.now);
    this.reporter = new Reporter({
      gitlab,
      masker: this.masker,
      publicUrl: config.publicUrl,
      now: deps.now,
      getRequest: (id) => store.getRequest(id),
      buildsOf: (id) => store.buildsOfRequest(id),
      getBuild: (id) => store.getBuild(id),
      tail: (id) => logs.tail(id, 30),
      setResultNote: (r, n) => store.setResultNote(r, n),
      onError: (e) => this.error(e),
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
   * a time, each started on its own turn of the event loop so waiting requests are read
   * first. Once handled, its record is dropped; a restart handles what is left
   * (resumeDeliveries).
   */
  deliver(key: string, event: WebhookEvent, body: string): void {
    this.lastArrival = performance.now();
    this.deliveries.push({ key, event, body, at: this.lastArrival });
    this.pumpDeliveries();
  }

  /** Handles the deliveries a previous process acknowledged but did not handle. */
  resumeDeliveries(): number {
    const left = this.deps.store.pendingDeliveries();
    for (const d of left) {
      if (d.event === "note" || d.event === "merge_request") this.deliveries.push({ key: d.key, event: d.event, body: d.payload, at: -Infinity });
      else this.deps.store.deliveryDone(d.key);
    }
    this.pumpDeliveries();
    return left.length;
  }

  private pumpDeliveries(): void {
    while (this.handling < HANDLERS && this.deliveries.length > 0) {
      // During a burst every cycle of the event loop goes to answering GitLab (the work is on
      // disk already); the handlers catch up once it is quiet, or after MAX_DEFER_MS at most.
      const now = performance.now();
      const wait = Math.min(this.lastArrival + QUIET_MS - now, this.deliveries[0]!.at + MAX_DEFER_MS - now);
      if (wait > 0) {
        this.deferTimer ??= setTimeout(() => {
          this.deferTimer = undefined;
          this.pumpDeliveries();
        }, Math.ceil(wait));
        return;
      }
      const d = this.deliveries.shift()!;
      this.handling += 1;
      this.dispatch(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        try {
          // Parsed here, not at intake: a delivery with an Idempotency-Key is answered without it.
          const payload = parseObject(d.body);
          if (payload) await (d.event === "note" ? this.handleNote(payload) : this.handleMergeRequest(payload));
        } finally {
          // Handled, or failed (reported through onError): either way not handled again.
          this.deps.store.deliveryDone(d.key);
          this.handling -= 1;
          this.pumpDeliveries();
        }
      });
    }
  }

  /** Waits until every delivery, dispatched handler and report has finished (builds may still run). */
  async idle(): Promise<void> {
    while (this.pending.size > 0 || this.deliveries.length > 0) {
      if (this.pending.size > 0) await Promise.all(this.pending);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await this.reporter.idle();
  }

  /** A Note Hook delivery. */
  async handleNote(p: Payload): Promise<void> {
    const note = p.object_attributes ?? {};
    const projectId = Number(p.project?.id ?? p.project_id);
    const iid = Number(p.merge_request?.iid);
    if (note.noteable_type !== "MergeRequest" || !Number.isInteger(iid) || !this.allowed(p.project, projectId)) return;
    // object_attributes.action exists since GitLab 16.11; before it, an edit has updated_at != created_at.
    const created = note.action === undefined ? note.created_at === note.updated_at || note.updated_at === undefined : note.action === "create";
    if (!created || note.system === true || typeof note.note !== "string") return;
    const command = parseCommand(note.note);
    if (command.kind === "none") return;
    const userId = Number(p.user?.id ?? note.author_id);
    if (userId === (await this.botUserId())) return;
    const { gitlab, config } = this.deps;
    const reply = (body: string) => gitlab.createNote(projectId, iid, this.masker.mask(body));
    await gitlab.awardEmoji(projectId, iid, Number(note.id), "eyes").catch((e) => this.error(e));

    const level = await gitlab.accessLevel(projectId, userId);
    if (level < config.minAccessLevel) {
      await reply(`Sorry, only project members with ${ROLE[config.minAccessLevel] ?? `level ${config.minAccessLevel}`} access or higher can run tsimg commands; you have ${ROLE[level] ?? `level ${level}`} access. No build was started.`);
      return;
    }
    const mr = await gitlab.mergeRequest(projectId, iid);
    if (mr.state !== "opened") return void (await reply(`This merge request is ${mr.state}: tsimg only builds open merge requests.`));
    if (mr.sourceProjectId !== mr.targetProjectId && !config.allowForks)
      return void (await reply("This merge request comes from a fork: tsimg does not build fork merge requests here (`allow_forks` is off)."));
    const available = await gitlab.templateNames(mr.sourceProjectId, mr.sha, config.imagesDir);

    if (command.kind === "help") return void (await reply(helpText(available, config.imagesDir, command.problem)));
    if (command.kind === "cancel") {
      const n = this.cancelMr(projectId, iid, `cancelled by ${p.user?.username ?? "a user"}`);
      return void (await reply(n === 0 ? "Nothing to cancel: no build of this merge request is queued or running." : `Cancelled ${n} build${n === 1 ? "" : "s"}.`));
    }
    const resolved = resolveImages(command.images, available);
    if ("problem" in resolved) return void (await reply(helpText(available, config.imagesDir, resolved.problem)));
    // A delivery handled again after a restart, or the same note under another delivery key: one request per note.
    if (this.deps.store.requestOfNote(projectId, Number(note.id))) return;
    const request = this.deps.store.addRequest({ projectId, mrIid: iid, noteId: Number(note.id), requestedBy: String(p.user?.username ?? userId) });
    const repoUrl = String(p.merge_request?.source?.git_http_url ?? p.project?.git_http_url ?? p.project?.http_url);
    for (const image of resolved.images) this.enqueue(request, image, mr.sha, repoUrl);
  }

  /** A Merge Request Hook delivery: new commits supersede the MR's builds; closing cancels them. */
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
    const repoUrl = String(attrs.source?.git_http_url ?? p.project?.git_http_url);
    const rebuilt = new Set<string>();
    for (const old of this.deps.store.activeBuilds(projectId, iid)) {
      if (old.sha === sha) continue;
      const request = this.deps.store.getRequest(old.requestId);
      if (request) this.enqueue(request, old.image, sha, repoUrl, `superseded by a push of ${sha.slice(0, 8)}`);
      rebuilt.add(old.image);
    }
    const { config, gitlab } = this.deps;
    if (!config.autobuild || (attrs.source_project_id !== attrs.target_project_id && !config.allowForks)) return;
    const available = await gitlab.templateNames(Number(attrs.source_project_id ?? projectId), sha, config.imagesDir);
    const changed = await gitlab.changedPaths(projectId, iid);
    const images = available.filter((name) => !rebuilt.has(name) && changed.some((path) => path === `${config.imagesDir}/${name}.toml` || path.startsWith(`${config.imagesDir}/${name}/`)));
    if (images.length === 0) return;
    const request = this.deps.store.addRequest({ projectId, mrIid: iid, noteId: null, requestedBy: "autobuild" });
    for (const image of images) this.enqueue(request, image, sha, repoUrl);
  }

  /** Queues a build, superseding the MR's active build of the same image. */
  enqueue(request: RequestRecord, image: string, sha: string, repoUrl: string, supersedeReason?: string): BuildRecord {
    const { store } = this.deps;
    const build = store.addBuild({ requestId: request.id, projectId: request.projectId, mrIid: request.mrIid, image, sha, repoUrl, requestedBy: request.requestedBy });
    for (const old of store.activeBuilds(request.projectId, request.mrIid, image)) if (old.id !== build.id) this.cancel(old.id, supersedeReason ?? `superseded by build #${build.id}`);
    void this.reporter.update(build.id);
    this.queue.push({ id: build.id, run: (signal) => this.run(build.id, signal), dropped: (reason) => this.finish(build.id, "canceled", { reason }) });
    return build;
  }

  /** Cancels a queued or running build. */
  cancel(buildId: number, reason: string): void {
    if (this.queue.cancel(buildId, reason) === undefined) this.finish(buildId, "canceled", { reason });
  }

  /** Cancels every active build of an MR; returns how many. */
  cancelMr(projectId: number, iid: number, reason: string): number {
    const active = this.deps.store.activeBuilds(projectId, iid);
    for (const b of active) this.cancel(b.id, reason);
    return active.length;
  }

  /** Marks builds a previous process left unfinished as failed, and reports them. */
  async recover(killLeftovers: (workDir: string) => void): Promise<void> {
    for (const b of this.deps.store.unfinishedBuilds()) {
      if (b.workDir) {
        killLeftovers(b.workDir);
        removeWorkDir(b.workDir);
      }
      const reason = b.state === "running" ? "service restarted while the build was running" : "service restarted before the build started";
      this.deps.logs.append(b.id, `${new Date(this.deps.now()).toISOString().slice(11, 19)} ${reason}`);
      this.finish(b.id, "failed", { reason });
    }
    await this.reporter.idle();
  }

  async close(): Promise<void> {
    // Deliveries not handled yet stay on disk: the next start handles them.
    this.deliveries.splice(0);
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    await this.queue.close("the service stopped");
    await this.idle();
  }

  private async run(buildId: number, signal: AbortSignal): Promise<void> {
    const { store, logs, config } = this.deps;
    const build = store.getBuild(buildId);
    if (!build || build.state !== "queued") return;
    const workDir = join(config.stateDir, "work", String(buildId));
    store.markRunning(buildId, workDir);
    logs.publishState(buildId, "running");
    void this.reporter.update(buildId);
    const masker = new Masker();
    for (const s of Object.values(config.secrets)) masker.add(s);
    const outcome = await runOne(build, workDir, {
      gitlab: this.deps.gitlab,
      buildFunction: this.deps.buildFunction,
      imagesDir: config.imagesDir,
      gitEnv: (url) => this.gitEnv(url),
      log: (text) => logs.append(buildId, masker.mask(text)),
      masker,
      setScreenshotSource: (take) => this.screens.attach(buildId, take),
    }, signal);
    this.screens.detach(buildId);
    // Kept before the work dir (where the build wrote it) goes.
    if (outcome.failureScreenshot) await this.screens.keepFailure(buildId, outcome.failureScreenshot).catch((e) => this.error(e));
    await removeWorkDirLater(outcome.state === "success" ? join(workDir, "repo") : workDir).catch((e) => this.error(e));
    const reason = outcome.reason === undefined ? undefined : masker.mask(outcome.reason);
    if (reason !== undefined) logs.append(buildId, `${new Date(this.deps.now()).toISOString().slice(11, 19)} ${outcome.state}: ${reason}`);
    this.finish(buildId, outcome.state, { ...(reason ? { reason } : {}), ...(outcome.failingStep ? { failingStep: outcome.failingStep } : {}), artifacts: outcome.artifacts });
  }

  private finish(buildId: number, state: "success" | "failed" | "canceled", fields: Parameters<Store["finish"]>[2]): void {
    if (!this.deps.store.finish(buildId, state, fields)) return;
    this.deps.logs.publishState(buildId, state);
    void this.reporter.update(buildId);
  }

  /** GitLab credentials for git over HTTP, as a header in the environment (never in argv or the URL). */
  private gitEnv(url: string): Record<string, string> {
    const base = { GIT_ALLOW_PROTOCOL: "https:http:file" };
    if (!url.startsWith(`${this.deps.config.gitlabUrl}/`)) return base;
    const basic = Buffer.from(`oauth2:${this.deps.config.secrets.gitlabToken}`).toString("base64");
    return { ...base, GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "http.extraHeader", GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` };
  }

  private allowed(project: Payload | undefined, projectId: number): boolean {
    const list = this.deps.config.allowedProjects;
    return list.includes(String(projectId)) || (typeof project?.path_with_namespace === "string" && list.includes(project.path_with_namespace));
  }

  private botUserId(): Promise<number | undefined> {
    this.botId ??= this.deps.gitlab.currentUser().then((u) => u.id, (e) => {
      this.botId = undefined;
      this.error(e);
      return undefined;
    });
    return this.botId;
  }

  private error(error: unknown): void {
    (this.deps.onError ?? ((e) => console.error(`tsimg serve: ${this.masker.mask((e as Error).message ?? String(e))}`)))(error);
  }
}

/** The body as a JSON object, or undefined when it is not one (such a delivery is acknowledged and ignored). */
function parseObject(body: string): Payload | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Payload) : undefined;
  } catch {
    return undefined;
  }
}

/** Kills processes (a QEMU left by a killed service) whose command line mentions dir; Linux /proc only. */
export function killProcessesUsing(dir: string): number[] {
  const killed: number[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    return killed;
  }
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${dir}/`)) continue;
      process.kill(Number(pid), "SIGKILL");
      killed.push(Number(pid));
    } catch {
      // gone already, or not ours
    }
  }
  return killed;
}
