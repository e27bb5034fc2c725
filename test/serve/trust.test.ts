// Who can make serve build, and what GitLab sees (issue 12, "Trust"): allowed_projects,
// member states, forks and pushes, mentions, template errors, API outages, status order,
// re-delivered notes. Each test names the mistake it catches.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { refusal } from "../../src/serve/access.js";
import { cloneSource } from "../../src/serve/build-source.js";
import type { ServeConfig } from "../../src/serve/config.js";
import { GitLabClient } from "../../src/serve/gitlab.js";
import { runOne, type BuildFunction } from "../../src/serve/runner.js";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import type { BuildRecord } from "../../src/serve/store.js";
import { Masker } from "../../src/index.js";
import {
  deliver,
  fakeBuild,
  GitLabStandIn,
  makeRepo,
  notePayload,
  PROJECT_ID,
  pushPayload,
  testConfig,
  TOKEN,
  until,
} from "./helpers.js";

let gitlab: GitLabStandIn;
let server: RunningServer | undefined;
let repo: ReturnType<typeof makeRepo>;

async function start(buildFunction: BuildFunction = fakeBuild(), extra: Partial<ServeConfig> = {}, stateDir?: string) {
  server = await startServer(testConfig(gitlab.url, stateDir, extra), { buildFunction, onError: () => {} });
  return server;
}

async function settle() {
  await server!.service.idle();
  await until(
    () => server!.service.queue.counts.queued === 0 && server!.service.queue.counts.running === 0,
    10_000,
    "queue empty",
  );
  await server!.service.idle();
}

const short = (sha: string) => sha.slice(0, 7);
const bodies = () => gitlab.notes.flatMap((n) => [n.body, ...n.edits]);
const FORK = 8;

beforeEach(async () => {
  gitlab = await new GitLabStandIn().start();
  repo = makeRepo();
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await gitlab.close();
});

describe("who can start a build", () => {
  it("acts only for allowed_projects: a hook from another project makes no call and builds nothing", async () => {
    await start();
    const other = notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha });
    (other.project as Record<string, unknown>).id = 8;
    (other.project as Record<string, unknown>).path_with_namespace = "someone/else";
    other.project_id = 8;
    await deliver(server!.url, other);
    const push = pushPayload({ oldrev: repo.sha, sha: "b".repeat(40), repo: repo.dir });
    (push.project as Record<string, unknown>).id = 8;
    (push.project as Record<string, unknown>).path_with_namespace = "someone/else";
    await deliver(server!.url, push, { event: "Merge Request Hook" });
    await settle();
    expect(gitlab.calls).toEqual([]);
    expect(server!.store.listBuilds()).toEqual([]);
  });

  it("allowed_projects may name the project by path", async () => {
    await start(fakeBuild(), { allowedProjects: ["infra/images"] });
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(server!.store.getBuild(1)?.state).toBe("success");
  });

  it.each([
    ["a blocked account", { state: "blocked" }],
    ["a deactivated account", { state: "deactivated" }],
    ["a locked account", { locked: true }],
    ["a membership awaiting approval", { membership_state: "awaiting" }],
    ["an expired membership", { expires_at: "2020-01-01" }],
  ])("%s keeps no access, whatever its access_level", async (_, fields) => {
    gitlab.members.set(1, 40);
    gitlab.memberFields.set(1, fields);
    await start();
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes.map((n) => n.body)).toEqual([
      "Sorry, only project members with Developer access or higher can run tsimg commands; you have no access to this project. No build was started.",
    ]);
    expect(server!.store.listBuilds()).toEqual([]);
  });

  it('says plainly that a non-member has no access (not "no access access")', async () => {
    await start();
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", userId: 3, repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes.map((n) => n.body)).toEqual([
      "Sorry, only project members with Developer access or higher can run tsimg commands; you have no access to this project. No build was started.",
    ]);
  });

  it.each([
    [0, "you have no access to this project"],
    [5, "you have Minimal Access"],
    [10, "you have Guest access"],
    [35, "you have level 35 access"],
  ])('the refusal for level %i says %j, never "access access"', (level, has) => {
    expect(refusal(30, level)).toBe(
      `Sorry, only project members with Developer access or higher can run tsimg commands; ${has}. No build was started.`,
    );
    expect(refusal(30, level)).not.toMatch(/access access|Access access/);
  });

  it("a push to a fork's MR cancels its approved build and starts nothing, with allow_forks and autobuild on", async () => {
    gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: FORK, target_project_id: PROJECT_ID });
    const held = fakeBuild({ hold: true });
    await start(held, { allowForks: true, autobuild: true });
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => held.started.length === 1, 15_000, "the approved build running");

    const pushed = repo.commit("images/tinyos.toml", '[image]\nname = "tinyos"\n# not reviewed\n');
    gitlab.mrs.set(3, { state: "opened", sha: pushed, source_project_id: FORK, target_project_id: PROJECT_ID });
    const push = pushPayload({ oldrev: repo.sha, sha: pushed, repo: repo.dir });
    Object.assign(push.object_attributes as object, { source_project_id: FORK, target_project_id: PROJECT_ID });
    await deliver(server!.url, push, { event: "Merge Request Hook" });
    await settle();
    expect(server!.store.listBuilds().map((b) => [b.id, b.sha, b.state])).toEqual([[1, repo.sha, "canceled"]]);
    expect(server!.store.getBuild(1)?.reason).toBe(
      `superseded by a push of ${pushed.slice(0, 8)}; not rebuilt: the push is to a fork. A member with Developer access must comment \`/tsimg build\``,
    );
    expect(held.started).toHaveLength(1);
    expect(gitlab.statuses.filter((s) => s.sha === pushed)).toEqual([]);
  });

  it("a /tsimg build on a fork MR whose head moved after the comment builds nothing", async () => {
    const pushed = "c".repeat(40);
    gitlab.mrs.set(3, { state: "opened", sha: pushed, source_project_id: FORK, target_project_id: PROJECT_ID });
    const build = fakeBuild();
    await start(build, { allowForks: true });
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes.map((n) => n.body)).toEqual([
      "New commits were pushed to this merge request after your comment (its head is now `cccccccc`): review them and comment `/tsimg build` again. No build was started.",
    ]);
    expect(build.started).toEqual([]);
  });

  it("a /tsimg build handled after a push (a delivery that waited out an outage) builds nothing of the new commit", async () => {
    const pushed = repo.commit("images/tinyos.toml", '[image]\nname = "tinyos"\n# pushed after the comment\n');
    gitlab.mrs.set(3, { state: "opened", sha: pushed, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    const build = fakeBuild();
    await start(build);
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes.map((n) => n.body)).toEqual([
      `New commits were pushed to this merge request after your comment (its head is now \`${pushed.slice(0, 8)}\`): review them and comment \`/tsimg build\` again. No build was started.`,
    ]);
    expect(build.started).toEqual([]);
  });

  it("a push by someone below min_access_level cancels but does not rebuild (the same gap as a fork's push)", async () => {
    gitlab.members.set(1, 40);
    gitlab.members.set(4, 30);
    const held = fakeBuild({ hold: true });
    await start(held, { minAccessLevel: 40, autobuild: true });
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => server!.store.getBuild(1)?.state === "running", 15_000, "running");
    const pushed = repo.commit("images/tinyos.toml", '[image]\nname = "tinyos"\n# by a Developer\n');
    const push = pushPayload({ oldrev: repo.sha, sha: pushed, repo: repo.dir });
    push.user = { id: 4, username: "user4" };
    await deliver(server!.url, push, { event: "Merge Request Hook" });
    await settle();
    expect(server!.store.listBuilds().map((b) => b.state)).toEqual(["canceled"]);
    expect(server!.store.getBuild(1)?.reason).toBe(
      `superseded by a push of ${pushed.slice(0, 8)}; not rebuilt: its author user4 has Developer access. A member with Maintainer access must comment \`/tsimg build\``,
    );
  });

  it("a push by a member with min_access_level rebuilds, and autobuild builds what changed", async () => {
    const build = fakeBuild();
    await start(build, { autobuild: true });
    const pushed = repo.commit("images/tinyos.toml", '[image]\nname = "tinyos"\n# v2\n');
    gitlab.mrs.set(3, { state: "opened", sha: pushed, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    await deliver(server!.url, pushPayload({ oldrev: repo.sha, sha: pushed, repo: repo.dir }), {
      event: "Merge Request Hook",
    });
    await settle();
    expect(server!.store.listBuilds().map((b) => [b.sha, b.state, b.requestedBy])).toEqual([
      [pushed, "success", "autobuild"],
    ]);
  });

  it("offers only templates a command can name: no sub/dir, no odd file names", async () => {
    gitlab.images = ["tinyos", "Bad Name", "sub/dir", "..evil"];
    await start();
    await deliver(server!.url, notePayload({ note: "/tsimg help", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes[0]!.body.split("\n").at(-1)).toBe(
      "Images at this commit (`images/*.toml`, `packer/*/*.pkr.hcl`, `packer/*/*.pkr.json`): `tinyos`",
    );
  });
});

describe("what GitLab sees", () => {
  it("no note mentions anyone: not the failure reason, the requester, the log tail, nor a help reply", async () => {
    const mentioning: BuildFunction = async (input) => {
      input.onEvent({
        build: "tinyos",
        time: Date.now(),
        type: "log",
        level: "info",
        message: "cc @all and @infra/admins &#64;here",
      });
      return { ok: false, cancelled: false, error: "deploy failed: ping @all, @here and &#x40;channel", artifacts: [] };
    };
    await start(mentioning);
    const note = notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha });
    (note.user as Record<string, unknown>).username = "@all";
    await deliver(server!.url, note);
    await deliver(server!.url, notePayload({ note: "/tsimg build @all", noteId: 1002, repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes).toHaveLength(2);
    expect(bodies().join("\n")).toContain("deploy failed: ping @\u200ball");
    for (const body of bodies()) {
      expect(body).not.toMatch(/@[^\u200b]/);
      expect(body).not.toMatch(/&(#0*64|#x0*40|commat);/i);
    }
  });

  it("a template error is reported in full: log, status description (255 characters at most) and note", async () => {
    const sha = repo.commit(
      "images/tinyos.toml",
      '[image]\nname = "tinyos"\n[source]\niso_url = "x.iso"\niso_checksum = "none"\nssh_username = "root"\ndisk_size = "lots"\ncpus = "two"\n',
    );
    gitlab.mrs.set(3, { state: "opened", sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    // The default build function: the template is loaded in the build process.
    server = await startServer(testConfig(gitlab.url), { onError: () => {} });
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha }));
    await until(() => server!.store.getBuild(1)?.state === "failed", 30_000, "failed");
    await settle();
    const errors = [
      '- images/tinyos.toml:7:1: disk_size: expected a size like "40G", "512M" or a number of MiB, got "lots" (string) [source.disk_size]',
      "- images/tinyos.toml:8:1: ",
    ];
    const reason = server.store.getBuild(1)!.reason!;
    expect(reason.split("\n")[0]).toBe("2 errors in template:");
    for (const line of errors) expect(reason).toContain(line);
    const status = gitlab.statuses.at(-1)!;
    expect(status.state).toBe("failed");
    expect(status.description.length).toBeLessThanOrEqual(255);
    expect(status.description).toMatch(
      /^failed at build: 2 errors in template: images\/tinyos\.toml:7:1: disk_size: expected a size like "40G", "512M" or a number of MiB, got "lots" \(string\) \[source\.disk_size\]; images\/tinyos\.toml:8:1: /,
    );
    const log = await (await fetch(`${server.url}/builds/1/log`)).text();
    for (const line of errors) expect(log).toContain(line);
    for (const line of errors) expect(gitlab.notes[0]!.body).toContain(line);
  }, 60_000);

  it("a second command replacing a running build posts its canceled before the new pending (GitLab refuses pending on a running status)", async () => {
    let first = true;
    const held = fakeBuild({ hold: true });
    const quick = fakeBuild();
    await start((input) => (first ? ((first = false), held(input)) : quick(input)));
    // The first request's note edits are slow, so its reports queue up behind them.
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    gitlab.holdCall = (method) => (method === "PUT" ? slow : undefined);
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => held.started.length === 1 && gitlab.statusesOf().length === 2, 15_000, "running");
    await deliver(
      server!.url,
      notePayload({ note: "/tsimg build tinyos", noteId: 1002, repo: repo.dir, sha: repo.sha }),
    );
    await until(() => server!.store.getBuild(2), 15_000, "the second build");
    await new Promise((r) => setTimeout(r, 300));
    release();
    await settle();
    expect(
      server!.store
        .listBuilds()
        .map((b) => b.state)
        .reverse(),
    ).toEqual(["canceled", "success"]);
    const s = short(repo.sha);
    expect(gitlab.statusesOf()).toEqual([
      `pending@${s}`,
      `running@${s}`,
      `canceled@${s}`,
      `pending@${s}`,
      `running@${s}`,
      `success@${s}`,
    ]);
    expect(gitlab.refusedStatuses).toEqual([]);
  });

  it("a push replacing a running build: canceled, then the new commit's statuses, none refused", async () => {
    let first = true;
    const held = fakeBuild({ hold: true });
    const quick = fakeBuild();
    await start((input) => (first ? ((first = false), held(input)) : quick(input)));
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => held.started.length === 1 && gitlab.statusesOf().length === 2, 15_000, "running");
    const pushed = repo.commit("images/tinyos.toml", '[image]\nname = "tinyos"\n# v2\n');
    gitlab.mrs.set(3, { state: "opened", sha: pushed, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    await deliver(server!.url, pushPayload({ oldrev: repo.sha, sha: pushed, repo: repo.dir }), {
      event: "Merge Request Hook",
    });
    await settle();
    expect(gitlab.statusesOf()).toEqual([
      `pending@${short(repo.sha)}`,
      `running@${short(repo.sha)}`,
      `canceled@${short(repo.sha)}`,
      `pending@${short(pushed)}`,
      `running@${short(pushed)}`,
      `success@${short(pushed)}`,
    ]);
    expect(gitlab.refusedStatuses).toEqual([]);
  });

  it("a cancel that lands while the build re-reads the MR is reported canceled, not failed", async () => {
    let release!: () => void;
    const read = new Promise<void>((r) => (release = r));
    // Read 1 is the command's; read 2 is the build's own check of the head: held until the push is in.
    gitlab.holdMrRead = (n) => (n === 2 ? read : undefined);
    const build = fakeBuild();
    await start(build);
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => gitlab.mrReads === 2, 15_000, "the build reading the MR");
    const pushed = "d".repeat(40);
    gitlab.mrs.set(3, { state: "opened", sha: pushed, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    gitlab.members.set(1, 10); // the pusher may not rebuild: only the cancel matters here
    await deliver(server!.url, pushPayload({ oldrev: repo.sha, sha: pushed, repo: repo.dir }), {
      event: "Merge Request Hook",
    });
    await until(() => server!.store.getBuild(1)?.state === "canceled", 15_000, "canceled");
    release();
    await settle();
    expect(server!.store.getBuild(1)?.state).toBe("canceled");
    expect(gitlab.statusesOf()).toEqual([
      `pending@${short(repo.sha)}`,
      `running@${short(repo.sha)}`,
      `canceled@${short(repo.sha)}`,
    ]);
    const log = await (await fetch(`${server!.url}/builds/1/log`)).text();
    expect(log).not.toMatch(/failed/);
    expect(build.started).toEqual([]);
  });

  it("runOne: a cancel during the MR read wins over a moved head", async () => {
    const controller = new AbortController();
    const client = {
      mergeRequest: async () => {
        controller.abort("superseded by a push of dddddddd");
        return {
          iid: 3,
          state: "opened",
          sha: "d".repeat(40),
          sourceProjectId: PROJECT_ID,
          targetProjectId: PROJECT_ID,
        };
      },
    } as unknown as GitLabClient;
    const record = {
      id: 1,
      projectId: PROJECT_ID,
      mrIid: 3,
      image: "tinyos",
      sha: repo.sha,
      repoUrl: repo.dir,
    } as BuildRecord;
    const outcome = await runOne(
      record,
      mkdtempSync(join(tmpdir(), "tsimg-run-")),
      {
        gitlab: client,
        buildFunction: fakeBuild(),
        fetchSource: cloneSource({ imagesDir: "images", gitEnv: () => ({}) }),
        log: () => {},
        masker: new Masker(),
        setScreenshotSource: () => {},
        sandbox: { env: {}, cacheDir: tmpdir() },
      },
      controller.signal,
    );
    expect(outcome).toEqual({ state: "canceled", reason: "superseded by a push of dddddddd", artifacts: [] });
  });

  it("runOne fetches the source while it re-reads the MR; a moved head stops the fetch and waits for it", async () => {
    let fetchStarted!: () => void;
    const started = new Promise<void>((resolve) => (fetchStarted = resolve));
    let fetchStopped = false;
    const client = {
      // Answers only once the fetch has begun: a fetch after the read would never begin.
      mergeRequest: async () => {
        await started;
        return {
          iid: 3,
          state: "opened",
          sha: "e".repeat(40),
          sourceProjectId: PROJECT_ID,
          targetProjectId: PROJECT_ID,
        };
      },
    } as unknown as GitLabClient;
    const fetchSource = (_record: BuildRecord, _dir: string, signal: AbortSignal) => {
      fetchStarted();
      return new Promise<string>((_resolve, reject) =>
        signal.addEventListener("abort", () =>
          setTimeout(() => ((fetchStopped = true), reject(new Error("stopped"))), 50),
        ),
      );
    };
    const build = fakeBuild();
    const record = { id: 1, projectId: PROJECT_ID, mrIid: 3, image: "tinyos", sha: repo.sha, repoUrl: repo.dir };
    const outcome = await runOne(
      record as BuildRecord,
      mkdtempSync(join(tmpdir(), "tsimg-run-")),
      {
        gitlab: client,
        buildFunction: build,
        fetchSource,
        log: () => {},
        masker: new Masker(),
        setScreenshotSource: () => {},
        sandbox: { env: {}, cacheDir: tmpdir() },
      },
      new AbortController().signal,
    );
    expect(outcome.reason).toMatch(/head moved from .* to eeeeeeee; not building/);
    expect(fetchStopped).toBe(true);
    expect(build.started).toEqual([]);
  });

  it("a /tsimg build reads the MR and the images at the commit it names at once, and the images once", async () => {
    const build = fakeBuild();
    await start(build);
    const treeRead = () => gitlab.calls.some((c) => c.path.includes("/repository/tree"));
    // The MR read answers only once the images are being read: a read after it would wait for ever.
    gitlab.holdMrRead = (n) => (n === 1 ? until(treeRead, 5_000, "the tree read").then(() => undefined) : undefined);
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => server!.store.getBuild(1)?.state === "success", 10_000, "build 1 succeeded");
    await settle();
    // One listing per glob root (images/, packer/), once.
    expect(gitlab.calls.filter((c) => c.path.includes("/repository/tree?path=images&"))).toHaveLength(1);
    expect(build.started).toHaveLength(1);
  });

  it("a note re-delivered under a new Idempotency-Key gets no second emoji, reply or build", async () => {
    const build = fakeBuild();
    await start(build);
    const payload = notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha });
    await deliver(server!.url, payload, { key: "delivery-a" });
    await settle();
    expect((await deliver(server!.url, payload, { key: "delivery-b" })).body).toEqual({ status: "accepted" });
    const refused = notePayload({
      note: "/tsimg build tinyos",
      noteId: 1003,
      userId: 2,
      repo: repo.dir,
      sha: repo.sha,
    });
    await deliver(server!.url, refused, { key: "delivery-c" });
    await deliver(server!.url, refused, { key: "delivery-d" });
    await settle();
    expect(gitlab.emojis).toEqual([
      { noteId: 1001, name: "eyes" },
      { noteId: 1003, name: "eyes" },
    ]);
    expect(build.started).toHaveLength(1);
    expect(gitlab.notes.filter((n) => n.body.startsWith("Sorry"))).toHaveLength(1);
  });
});

describe("accepted work survives GitLab outages", () => {
  it("a /tsimg build accepted while the API is down is built once the API is back, with one emoji and its note", async () => {
    gitlab.failNext = 5; // GET /user fails three times (the client's own retries), then the delivery's first retry fails twice more
    const build = fakeBuild();
    await start(build);
    expect(
      (await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }))).status,
    ).toBe(202);
    await until(() => server!.store.pendingDeliveries()[0]?.attempts === 1, 15_000, "the delivery kept for a retry");
    await until(() => server!.store.getBuild(1)?.state === "success", 15_000, "the build after the outage");
    await settle();
    expect(gitlab.failNext).toBe(0);
    expect(build.started).toHaveLength(1);
    expect(gitlab.emojis).toHaveLength(1);
    expect(gitlab.notes).toHaveLength(1);
    expect(server!.store.pendingDeliveries()).toEqual([]);
  });

  it("a delivery still waiting for the API when serve stops is handled after the restart", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "tsimg-serve-state-"));
    gitlab.failNext = 1_000_000;
    await start(fakeBuild(), {}, stateDir);
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }), {
      key: "during-outage",
    });
    await until(() => server!.store.pendingDeliveries()[0]?.attempts === 1, 15_000, "kept for a retry");
    await server!.close();
    gitlab.failNext = 0;
    const build = fakeBuild();
    await start(build, {}, stateDir);
    await until(() => server!.store.getBuild(1)?.state === "success", 10_000, "built after the restart");
    await settle();
    expect(build.started).toHaveLength(1);
    expect(server!.store.pendingDeliveries()).toEqual([]);
  });

  it("a build's result reaches GitLab through a short outage: its success status and note are posted once the API is back", async () => {
    const build: BuildFunction = async (input) => {
      const output = await fakeBuild()(input);
      gitlab.failNext = 3; // the API goes down as the build ends
      return output;
    };
    await start(build);
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => server!.store.getBuild(1)?.state === "success", 10_000, "success");
    await server!.service.idle();
    expect(gitlab.failNext).toBe(0);
    expect(gitlab.statusesOf()).toEqual([
      `pending@${short(repo.sha)}`,
      `running@${short(repo.sha)}`,
      `success@${short(repo.sha)}`,
    ]);
    expect(gitlab.notes[0]!.body).toContain("| tinyos | :white_check_mark: success |");
  });

  it("a delivery GitLab refuses for good (4xx) is not retried", async () => {
    gitlab.mrs.delete(3); // GET merge request: 404
    await start();
    await deliver(server!.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(server!.store.pendingDeliveries()).toEqual([]);
    expect(gitlab.calls.filter((c) => c.path === "/projects/7/merge_requests/3")).toHaveLength(1);
  });
});

// The GitLab client's own checks, without a server around it.
describe("GitLabClient", () => {
  it("downloads a commit's archive; one larger than the limit is refused (413) without a retry", async () => {
    gitlab.repoDir = repo.dir;
    const client = new GitLabClient(gitlab.url, TOKEN);
    const archive = await client.archive(PROJECT_ID, repo.sha, 1 << 20);
    expect(archive.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip
    const before = gitlab.calls.length;
    await expect(client.archive(PROJECT_ID, repo.sha, 16)).rejects.toMatchObject({ status: 413 });
    expect(gitlab.calls.length).toBe(before + 1);
  });

  it("posts every note with its mentions neutralized", async () => {
    await new GitLabClient(gitlab.url, TOKEN).createNote(PROJECT_ID, 3, "@all &#64;here &commat;x");
    expect(gitlab.notes[0]!.body).toBe("@\u200ball &amp;#64;here &amp;commat;x");
  });
});
