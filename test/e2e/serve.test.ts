// Done-when 1: the whole serve flow with the REAL tinyos build under QEMU, against a GitLab
// API stand-in written to GitLab's documented endpoints and payloads. GitLab itself cannot
// run on these machines, so the stand-in (test/serve/helpers.ts) plays it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import { GitLabStandIn, PROJECT_ID, deliver, notePayload, testConfig, until } from "../serve/helpers.js";
import { pngSize, requireFixture } from "./helpers.js";
import { makeTinyosRepo } from "./serve-repo.js";

let gitlab: GitLabStandIn;
let server: RunningServer;
let repo: { dir: string; sha: string };

beforeAll(async () => {
  requireFixture();
  gitlab = await new GitLabStandIn().start();
  repo = makeTinyosRepo();
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
  server = await startServer(testConfig(gitlab.url)); // default BuildFunction: loadTemplate + build
}, 60_000);

afterAll(async () => {
  await server?.close();
  await gitlab?.close();
});

describe("tsimg serve e2e", () => {
  it(
    "/tsimg build tinyos on an MR: fast 2xx, real build with its console on the dashboard, statuses pending -> running -> success, emoji, one note with sha256 and duration",
    async () => {
      await fetch(`${server.url}/api/builds`);
      const response = await deliver(
        server.url,
        notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }),
      );
      expect(response.status).toBe(202);
      const finished = () => ["success", "failed", "canceled"].includes(server.store.getBuild(1)?.state ?? "");
      // The dashboard's console image while QEMU runs: 404 until the VM is up, then a real PNG.
      let console_: Buffer | undefined;
      while (!console_ && !finished()) {
        const shot = await fetch(`${server.url}/builds/1/screenshot.png`);
        if (shot.status === 200) {
          expect(shot.headers.get("content-type")).toBe("image/png");
          console_ = Buffer.from(await shot.arrayBuffer());
        } else {
          expect(shot.status).toBe(404);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      expect(console_, "a screenshot while the build ran").toBeDefined();
      const size = pngSize(console_!);
      expect(size.width).toBeGreaterThan(0);
      expect(size.height).toBeGreaterThan(0);
      await until(finished, 25 * 60_000, "build finished");
      await server.service.idle();
      const build = server.store.getBuild(1)!;
      expect(build.reason).toBeNull();
      expect(build.state).toBe("success");
      expect(
        gitlab.statuses.filter((s) => s.sha === repo.sha && s.name === "tsimg/tinyos").map((s) => s.state),
      ).toEqual(["pending", "running", "success"]);
      expect(gitlab.emojis).toEqual([{ noteId: 1001, name: "eyes" }]);
      expect(gitlab.notes).toHaveLength(1);
      const note = gitlab.notes[0]!;
      expect(note.edits.length).toBeGreaterThan(0);
      expect(note.body).toMatch(/`[0-9a-f]{64}`/);
      expect(note.body).toContain(build.artifacts[0]!.sha256!);
      expect(note.body).toMatch(/\| tinyos \| :white_check_mark: success \| \d+ (min \d\d )?s \|/);
      expect(note.body).not.toContain("tsimg-example"); // the template's sensitive root password
      // Issue 15: the first build of the image for this target branch has nothing to compare with, and says so.
      expect(note.body).toContain("<details><summary>What changes in the image: tinyos</summary>");
      expect(note.body).toContain("No earlier successful build of tinyos for the target branch is recorded");
      // A build that succeeded has no console to show any more.
      expect((await fetch(`${server.url}/builds/1/screenshot.png`)).status).toBe(404);
    },
    30 * 60_000,
  );
});
