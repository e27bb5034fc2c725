// serve's intake end to end with a fake build: security (done-when 2), deduplication,
// the status sequence, the emoji and the result note.
import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import { MAX_BODY } from "../../src/serve/webhook.js";
import {
  BOT_ID,
  deliver,
  fakeBuild,
  GitLabStandIn,
  makeRepo,
  notePayload,
  PROJECT_ID,
  SECRET,
  testConfig,
  until,
} from "./helpers.js";

let gitlab: GitLabStandIn;
let server: RunningServer;
let repo: ReturnType<typeof makeRepo>;
let build: ReturnType<typeof fakeBuild>;

async function start(buildFn = fakeBuild(), extra = {}) {
  build = buildFn;
  server = await startServer(testConfig(gitlab.url, undefined, extra), { buildFunction: build, onError: () => {} });
}

/** Waits until every handler, report and queued build has finished. */
async function settle() {
  await server.service.idle();
  await until(
    () => server.service.queue.counts.queued === 0 && server.service.queue.counts.running === 0,
    15_000,
    "queue empty",
  );
  await server.service.idle();
}

beforeEach(async () => {
  gitlab = await new GitLabStandIn().start();
  repo = makeRepo();
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
});
afterEach(async () => {
  await server?.close();
  await gitlab.close();
});

describe("serve webhook intake", () => {
  // How fast the answer comes is measured by bench/webhooks.mjs, not asserted here (a timed
  // assertion fails on a busy machine and proves nothing on an idle one).
  it("builds on /tsimg build: 2xx, emoji, statuses pending -> running -> success, one note created then edited", async () => {
    await start();
    const response = await deliver(
      server.url,
      notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }),
    );
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ status: "accepted" });
    await settle();
    expect(build.started).toHaveLength(1);
    expect(gitlab.statusesOf()).toEqual([
      `pending@${repo.sha.slice(0, 7)}`,
      `running@${repo.sha.slice(0, 7)}`,
      `success@${repo.sha.slice(0, 7)}`,
    ]);
    const success = gitlab.statuses.at(-1)!;
    expect(success.target_url).toBe("https://tsimg.example.com/builds/1");
    expect(success.description).toMatch(/^built in \d+ s, sha256 aaaaaaaaaaaa$/);
    expect(gitlab.emojis).toEqual([{ noteId: 1001, name: "eyes" }]);
    expect(gitlab.notes).toHaveLength(1);
    const note = gitlab.notes[0]!;
    expect(note.edits.length).toBeGreaterThanOrEqual(1);
    expect(note.body).toContain(`| tinyos | :white_check_mark: success | `);
    expect(note.body).toContain(`\`${"a".repeat(64)}\``);
    expect(note.body).toContain("1.5 KiB");
    expect(note.body).toContain("[#1](https://tsimg.example.com/builds/1)");
    expect(note.body).toContain(`commit \`${repo.sha.slice(0, 8)}\``);
    expect(note.body).not.toContain(SECRET);
    // Every call carried the token in the header, never in the URL.
    expect(gitlab.calls.every((c) => !c.path.includes("glpat"))).toBe(true);
    // The work dir held exactly the MR's commit.
    expect(build.started[0]).toMatch(/work\/1\/repo\/images\/tinyos\.toml$/);
  });

  it.each([
    ["a wrong token", "not-the-secret"],
    ["a missing token", null],
  ])("%s gets 401 and starts nothing", async (_, token) => {
    await start();
    const response = await deliver(
      server.url,
      notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }),
      { token },
    );
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: "invalid or missing X-Gitlab-Token" });
    await settle();
    expect(server.store.listBuilds()).toEqual([]);
    expect(gitlab.calls).toEqual([]);
  });

  it.each([
    ["with an Idempotency-Key", "delivery-uuid-1"],
    ["without one (project + note id + action)", undefined],
  ])("the same delivery sent 5 times builds once, %s", async (_, key) => {
    await start();
    const payload = notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => deliver(server.url, payload, key ? { key } : {})),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 202]);
    expect(answers.filter((a) => a.body.status === "duplicate")).toHaveLength(4);
    await settle();
    expect(server.store.listBuilds()).toHaveLength(1);
    expect(build.started).toHaveLength(1);
    expect(gitlab.notes).toHaveLength(1);
  });

  it.each([
    ["a comment edit (action: update)", { action: "update" }],
    ["a system note", { system: true }],
    ["the bot's own note", { userId: BOT_ID }],
    ["a note that is not a command", { note: "LGTM, but please /tsimg build it later" }],
  ])("%s builds nothing and gets no reply", async (_, override) => {
    await start();
    const response = await deliver(
      server.url,
      notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha, ...override }),
    );
    expect(response.status).toBe(202);
    await settle();
    expect(server.store.listBuilds()).toEqual([]);
    expect(gitlab.notes).toEqual([]);
    expect(gitlab.statuses).toEqual([]);
  });

  it("acknowledges unsupported events and bodies without acting", async () => {
    await start();
    expect((await deliver(server.url, { object_kind: "push" }, { event: "Push Hook" })).body).toEqual({
      status: "ignored",
      reason: "event not handled",
    });
    const garbage = await fetch(`${server.url}/hooks/gitlab`, {
      method: "POST",
      headers: { "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Note Hook" },
      body: "not json",
    });
    expect(garbage.status).toBe(202);
    expect(await garbage.json()).toEqual({ status: "ignored", reason: "body is not a JSON object" });
    // With an Idempotency-Key the intake records the body unparsed; the handler then drops it.
    const keyed = await fetch(`${server.url}/hooks/gitlab`, {
      method: "POST",
      headers: { "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Note Hook", "Idempotency-Key": "garbage-1" },
      body: "[1, 2",
    });
    expect(keyed.status).toBe(202);
    expect(await keyed.json()).toEqual({ status: "accepted" });
    const get = await fetch(`${server.url}/hooks/gitlab`, { headers: { "X-Gitlab-Token": SECRET } });
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
    await settle();
    expect(gitlab.calls).toEqual([]);
    expect(server.store.listBuilds()).toEqual([]);
    expect(server.store.pendingDeliveries()).toEqual([]);
  });

  it("refuses a Guest-level commenter with a polite note, and builds nothing", async () => {
    await start();
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", userId: 2, repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes.map((n) => n.body)).toEqual([
      "Sorry, only project members with Developer access or higher can run tsimg commands; you have Guest access. No build was started.",
    ]);
    expect(server.store.listBuilds()).toEqual([]);
    expect(gitlab.statuses).toEqual([]);
  });

  it("refuses a fork merge request by default", async () => {
    gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: 8, target_project_id: PROJECT_ID });
    await start();
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes.map((n) => n.body)).toEqual([
      "This merge request comes from a fork: tsimg does not build fork merge requests here (`allow_forks` is off).",
    ]);
    expect(build.started).toEqual([]);
  });

  it("refuses a merged merge request", async () => {
    gitlab.mrs.set(3, { state: "merged", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
    await start();
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes.map((n) => n.body)).toEqual([
      "This merge request is merged: tsimg only builds open merge requests.",
    ]);
    expect(build.started).toEqual([]);
  });

  it.each([
    ["/tsimg build ../../etc/passwd", "`../../etc/passwd` is not an image name"],
    ["/tsimg build rocky9;reboot", "`rocky9;reboot` is not an image name"],
    ["/tsimg build $(id)", "`$(id)` is not an image name"],
    ["/tsimg build rocky9", "there is no image `rocky9` at this commit"],
    ["/tsimg biuld tinyos", "unknown command `biuld`; did you mean `/tsimg build`?"],
  ])("`%s` gets a help note and nothing runs", async (command, problem) => {
    await start();
    await deliver(server.url, notePayload({ note: command, repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.notes).toHaveLength(1);
    expect(gitlab.notes[0]!.body.split("\n")[0]).toBe(
      `:warning: ${problem}${problem.startsWith("`") ? ' (lowercase letters, digits, ".", "_" and "-")' : ""}`,
    );
    expect(gitlab.notes[0]!.body).toContain("`/tsimg build <image> [<image>...]`");
    expect(gitlab.notes[0]!.body).toContain(
      "Images at this commit (`images/*.toml`, `packer/*/*.pkr.hcl`, `packer/*/*.pkr.json`): `tinyos`",
    );
    expect(server.store.listBuilds()).toEqual([]);
    expect(build.started).toEqual([]);
  });

  it("a failed build's note names the failing step and shows the last log lines in <details>", async () => {
    await start(fakeBuild({ fail: true, lines: 40 }));
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(gitlab.statusesOf().at(-1)).toBe(`failed@${repo.sha.slice(0, 7)}`);
    expect(gitlab.statuses.at(-1)!.description).toBe("failed at boot: ssh: handshake failed");
    const body = gitlab.notes[0]!.body;
    expect(body).toContain("**tinyos** failed at step `boot`: ssh: handshake failed");
    expect(body).toContain("<details><summary>Last 30 log lines of tinyos</summary>");
    expect(body).toContain("line 40");
    expect(body).not.toContain("line 10\n");
  });

  it("/tsimg cancel cancels the MR's running build", async () => {
    await start(fakeBuild({ hold: true }));
    await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
    await until(() => server.store.getBuild(1)?.state === "running", 15_000, "running");
    await deliver(server.url, notePayload({ note: "/tsimg cancel", noteId: 1002, repo: repo.dir, sha: repo.sha }));
    await settle();
    expect(server.store.getBuild(1)?.state).toBe("canceled");
    expect(server.store.getBuild(1)?.reason).toBe("cancelled by user1");
    expect(gitlab.notes.map((n) => n.body)).toContain("Cancelled 1 build.");
    expect(gitlab.statusesOf().at(-1)).toBe(`canceled@${repo.sha.slice(0, 7)}`);
  });
});

/**
 * A POST written over a raw socket, as fast as the server takes it: `size` body bytes
 * (prefix, then spaces, then suffix), with a Content-Length or chunked. Resolves once the
 * server closed the connection or the whole body is written and answered; tells how much
 * of the body was written by then.
 */
function rawPost(
  url: string,
  o: {
    token?: string;
    event?: string;
    key?: string;
    size: number;
    prefix?: string;
    suffix?: string;
    chunked?: boolean;
  },
): Promise<{ head: string; body: string; wrote: number; closedByServer: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = "";
    let wrote = 0;
    let closed = false;
    let done = false;
    const complete = () => /\r\n\r\n\{.*\}$/.test(answer);
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      const [head = "", body = ""] = answer.split("\r\n\r\n");
      resolve({ head, body, wrote, closedByServer });
    };
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      answer += d;
      // Everything written and the answer read while the connection stays open: done.
      if (wrote >= o.size && complete()) {
        finish(false);
        socket.destroy();
      }
    });
    socket.on("error", () => undefined); // EPIPE/ECONNRESET once the server hangs up: expected
    socket.once("close", () => {
      closed = true;
      finish(true);
    });
    const headers = [
      "POST /hooks/gitlab HTTP/1.1",
      `Host: ${hostname}`,
      "Content-Type: application/json",
      `X-Gitlab-Event: ${o.event ?? "Note Hook"}`,
      ...(o.token === undefined ? [] : [`X-Gitlab-Token: ${o.token}`]),
      ...(o.key ? [`Idempotency-Key: ${o.key}`] : []),
      o.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${o.size}`,
    ];
    socket.write(`${headers.join("\r\n")}\r\n\r\n`);
    const prefix = Buffer.from(o.prefix ?? "");
    const suffix = Buffer.from(o.suffix ?? "");
    const spaces = Buffer.alloc(64 * 1024, " ");
    const piece = (): Buffer => {
      const left = o.size - wrote;
      if (wrote === 0 && prefix.length > 0) return prefix;
      if (left <= suffix.length) return suffix.subarray(suffix.length - left);
      return spaces.subarray(0, Math.min(spaces.length, left - suffix.length));
    };
    const pump = () => {
      while (!closed && wrote < o.size) {
        const data = piece();
        wrote += data.length;
        const ok = socket.write(
          o.chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")]) : data,
        );
        if (!ok) return void socket.once("drain", pump);
      }
      if (!closed && o.chunked) socket.write("0\r\n\r\n");
    };
    pump();
  });
}

describe("serve webhook intake: HTTP limits", () => {
  it.each([
    ["a wrong token", "not-the-secret", false],
    ["a wrong token, chunked", "not-the-secret", true],
    ["no token", undefined, false],
  ])(
    "%s with a 100 MiB body: 401 from the headers alone, then the connection is closed unread",
    async (_, token, chunked) => {
      await start();
      const r = await rawPost(server.url, { ...(token ? { token } : {}), size: 100 * 1024 * 1024, chunked });
      expect(r.head.split("\r\n")[0]).toBe("HTTP/1.1 401 Unauthorized");
      expect(r.head).toMatch(/\r\nConnection: close\r\n/i);
      expect(r.body).toBe(JSON.stringify({ error: "invalid or missing X-Gitlab-Token" }));
      // The server hung up; what was written by then is what sat in the two sockets' buffers
      // (a few MiB), not the 100 MiB a keep-alive connection would have read and thrown away.
      expect(r.closedByServer).toBe(true);
      expect(r.wrote).toBeLessThan(32 * 1024 * 1024);
      expect(server.store.pendingDeliveries()).toEqual([]);
    },
  );

  it("a body of exactly 25 MiB is accepted; one byte more is refused (413), by its Content-Length or once a chunked body passes it", async () => {
    await start();
    expect(MAX_BODY).toBe(25 * 1024 * 1024);
    const json = { prefix: '{"object_kind":"note","padding":"', suffix: '"}' };
    const exact = await rawPost(server.url, { token: SECRET, key: "big-1", size: MAX_BODY, ...json });
    expect([exact.head.split("\r\n")[0], exact.body]).toEqual([
      "HTTP/1.1 202 Accepted",
      JSON.stringify({ status: "accepted" }),
    ]);
    for (const chunked of [false, true]) {
      const over = await rawPost(server.url, {
        token: SECRET,
        key: `big-2-${chunked}`,
        size: MAX_BODY + 1,
        chunked,
        ...json,
      });
      expect([over.head.split("\r\n")[0], over.body]).toEqual([
        "HTTP/1.1 413 Payload Too Large",
        JSON.stringify({ error: "body too large (the limit is 25 MiB, as GitLab's)" }),
      ]);
      expect(over.head).toMatch(/\r\nConnection: close\r\n/i);
    }
    await server.service.idle();
    // Only the 25 MiB delivery was recorded (and then dropped by the handler: it is not a note on an MR).
    expect(gitlab.calls).toEqual([]);
  }, 60_000);

  it("20 images in one command are queued; 21 get the help note and nothing is queued", async () => {
    gitlab.images = Array.from({ length: 21 }, (_, i) => `img${String(i + 1).padStart(2, "0")}`);
    await start(fakeBuild({ hold: true }));
    await deliver(
      server.url,
      notePayload({ note: `/tsimg build ${gitlab.images.join(" ")}`, noteId: 1, repo: repo.dir, sha: repo.sha }),
    );
    await until(() => gitlab.notes.length === 1, 15_000, "the help note");
    expect(gitlab.notes[0]!.body.split("\n")[0]).toBe(":warning: at most 20 images per command");
    expect(server.store.listBuilds()).toEqual([]);
    await deliver(
      server.url,
      notePayload({
        note: `/tsimg build ${gitlab.images.slice(0, 20).join(" ")}`,
        noteId: 2,
        repo: repo.dir,
        sha: repo.sha,
      }),
    );
    await until(() => server.store.listBuilds().length === 20, 15_000, "20 builds");
    expect(
      server.store
        .listBuilds()
        .map((b) => b.image)
        .sort(),
    ).toEqual(gitlab.images.slice(0, 20));
  });
});
