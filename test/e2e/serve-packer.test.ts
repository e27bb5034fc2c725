// serve in a repository laid out as Packer users keep theirs (issue 13): no images/ folder,
// the template is packer/tinyos/tinyos.pkr.hcl (+ provisioner.sh, env.yaml) beside
// kickstart/. A "/tsimg build tinyos" comment on the merge request finds the image by
// image_globs' default and builds it for real under QEMU, from the template's folder as
// Packer would; "/tsimg help" lists the image. GitLab is the stand-in of test/serve/helpers.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServeConfig } from "../../src/serve/config.js";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import { GitLabStandIn, PROJECT_ID, deliver, notePayload, testConfig, until } from "../serve/helpers.js";
import { requireFixture } from "./helpers.js";
import { makePackerRepo } from "./serve-repo.js";

let gitlab: GitLabStandIn;
let server: RunningServer;
let config: ServeConfig;
let repo: ReturnType<typeof makePackerRepo>;

beforeAll(async () => {
  requireFixture();
  gitlab = await new GitLabStandIn().start();
  repo = makePackerRepo();
  gitlab.files = repo.files;
  gitlab.mrs.set(3, { state: "opened", sha: repo.sha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
  config = testConfig(gitlab.url);
  server = await startServer(config);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await gitlab?.close();
});

const finished = (id: number) => ["success", "failed", "canceled"].includes(server.store.getBuild(id)?.state ?? "");

describe("tsimg serve in a Packer repository", () => {
  it("/tsimg help lists the image found in packer/tinyos/", async () => {
    const response = await deliver(server.url, notePayload({ note: "/tsimg help", repo: repo.dir, sha: repo.sha }));
    expect(response.status).toBe(202);
    await until(() => gitlab.notes.length === 1, 30_000, "help note");
    expect(gitlab.notes[0]!.body).toContain(
      "Images at this commit (`images/*.toml`, `packer/*/*.pkr.hcl`, `packer/*/*.pkr.json`): `tinyos`",
    );
  });

  it(
    "/tsimg build tinyos builds packer/tinyos/tinyos.pkr.hcl end to end",
    async () => {
      const response = await deliver(
        server.url,
        notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha, noteId: 1002 }),
      );
      expect(response.status).toBe(202);
      await until(() => server.store.getBuild(1) !== undefined && finished(1), 25 * 60_000, "build finished");
      await server.service.idle();
      const build = server.store.getBuild(1)!;
      expect(build.reason).toBeNull();
      expect(build.state).toBe("success");
      expect(build.image).toBe("tinyos");
      expect(
        gitlab.statuses.filter((s) => s.sha === repo.sha && s.name === "tsimg/tinyos").map((s) => s.state),
      ).toEqual(["pending", "running", "success"]);
      const note = gitlab.notes.at(-1)!;
      expect(note.body).toMatch(/\| tinyos \| :white_check_mark: success \|/);
      expect(note.body).not.toContain("tsimg-example"); // ssh_password is sensitive
    },
    30 * 60_000,
  );
});
