// Done-when 3 and 6 of the serve issue with the REAL tinyos build under QEMU (TCG), where
// test/serve/lifecycle.test.ts uses a fake build: only a real QEMU can show that a
// cancelled or orphaned build leaves no VM running; and issue 12's first finding: a
// template's shell-local, run by a real `tsimg serve`, cannot reach serve's token. GitLab
// cannot run on these machines: the stand-in in test/serve/helpers.ts plays it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { renderLine } from "../../src/serve/event-log.js";
import { startServer, type RunningServer } from "../../src/serve/server.js";
import {
  deliver,
  GitLabStandIn,
  notePayload,
  PROJECT_ID,
  pushPayload,
  SECRET,
  testConfig,
  TOKEN,
  until,
} from "../serve/helpers.js";
import { CLI, qemuPids, requireFixture, ROOT, waitNoQemu } from "./helpers.js";
import { makeTinyosRepo } from "./serve-repo.js";

/** Root runs serve with build_user = "nobody" (serve refuses to run builds as root). */
const AS_ROOT = process.getuid?.() === 0;

const QEMU_START_MS = 5 * 60_000;

let gitlab: GitLabStandIn;
let children: ChildProcess[] = [];
let server: RunningServer | undefined;

beforeAll(requireFixture);
afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children = [];
  await server?.close();
  server = undefined;
  await gitlab?.close();
});

/**
 * A folder for a serve process's files that build_user can cross, serve.toml in it (state
 * in ./state, dashboard open, build_user when root) and the secrets in files only serve
 * reads; returns the config file and the environment naming the secret files.
 */
function serveFiles(gitlabUrl: string): { dir: string; configFile: string; stateDir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-serve-e2e-"));
  chmodSync(dir, 0o711);
  const stateDir = join(dir, "state");
  const configFile = join(dir, "serve.toml");
  writeFileSync(
    configFile,
    [
      `listen = "127.0.0.1:0"`,
      `public_url = "https://tsimg.example.com"`,
      `gitlab_url = "${gitlabUrl}"`,
      `allowed_projects = [${PROJECT_ID}]`,
      `state_dir = "${stateDir}"`,
      "dashboard_open = true",
      ...(AS_ROOT ? ['build_user = "nobody"'] : []),
      "",
    ].join("\n"),
  );
  const secrets = mkdtempSync(join(tmpdir(), "tsimg-serve-secrets-"));
  writeFileSync(join(secrets, "gitlab-token"), `${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(secrets, "webhook-secret"), `${SECRET}\n`, { mode: 0o600 });
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TSIMG_")));
  return {
    dir,
    configFile,
    stateDir,
    env: {
      ...env,
      TSIMG_GITLAB_TOKEN_FILE: join(secrets, "gitlab-token"),
      TSIMG_WEBHOOK_SECRET_FILE: join(secrets, "webhook-secret"),
    },
  };
}

/**
 * The CLI as build_user can run it: the checkout's when that user can read it, else a copy
 * of dist/ and node_modules/ in /tmp (a checkout under /root is out of nobody's reach).
 */
let cliForBuildUser: string | undefined;
function cli(): string {
  if (!AS_ROOT) return CLI;
  const worker = join(ROOT, "dist/serve/build-worker.js");
  const readable = (path: string) =>
    spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--init-groups", "--", "test", "-r", path]).status === 0;
  if (readable(worker) && readable(join(ROOT, "node_modules/execa/package.json"))) return CLI;
  if (!cliForBuildUser) {
    const copy = mkdtempSync(join(tmpdir(), "tsimg-runtime-"));
    chmodSync(copy, 0o755);
    for (const part of ["dist", "node_modules", "package.json"])
      cpSync(join(ROOT, part), join(copy, part), { recursive: true });
    cliForBuildUser = join(copy, relative(ROOT, CLI));
  }
  return cliForBuildUser;
}

/** `tsimg serve` as its own process (the real CLI, secrets in files); resolves with its URL. */
async function serveProcess(configFile: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli(), "serve", "--config", configFile], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`tsimg serve exited with ${code}: ${output}`)));
  });
  return { child, url };
}

describe("serve lifecycle with real QEMU", () => {
  it(
    "kill -9 of tsimg serve mid-build: QEMU dies with it; after a restart the build is failed, its log kept, a failed status posted",
    async () => {
      gitlab = await new GitLabStandIn().start();
      const repo = makeTinyosRepo({ copyIso: AS_ROOT });
      gitlab.mrs.set(3, {
        state: "opened",
        sha: repo.sha,
        source_project_id: PROJECT_ID,
        target_project_id: PROJECT_ID,
      });
      const { configFile, stateDir, env } = serveFiles(gitlab.url);
      const workDir = join(stateDir, "work", "1");

      const first = await serveProcess(configFile, env);
      expect(
        (await deliver(first.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }))).status,
      ).toBe(202);
      await until(() => qemuPids(`${workDir}/`).length === 1, QEMU_START_MS, "QEMU running for build 1");
      const log = join(stateDir, "logs", "1.log");
      await until(() => readFileSync(log, "utf8").includes("VM started"), 30_000, "VM started in the log");

      first.child.kill("SIGKILL");
      await new Promise((resolve) => first.child.once("exit", resolve));
      // QEMU runs under setpriv --pdeathsig SIGKILL: the kernel kills it with its parent.
      expect(await waitNoQemu(`${workDir}/`, 5000)).toEqual([]);
      const logBefore = readFileSync(log, "utf8");
      expect(gitlab.statusesOf()).toEqual([`pending@${repo.sha.slice(0, 7)}`, `running@${repo.sha.slice(0, 7)}`]);

      const second = await serveProcess(configFile, env);
      const build = (await (await fetch(`${second.url}/api/builds/1`)).json()) as { state: string; reason: string };
      expect(build).toMatchObject({ state: "failed", reason: "service restarted while the build was running" });
      const logAfter = await (await fetch(`${second.url}/builds/1/log`)).text();
      // The stored events (JSON lines) are kept; the plain log renders them as text.
      const before = logBefore.trimEnd().split("\n");
      expect(before.every((l) => typeof JSON.parse(l).type === "string")).toBe(true);
      expect(logAfter.startsWith(before.map(renderLine).join("\n"))).toBe(true);
      expect(logAfter).toContain("VM started");
      expect(logAfter.trimEnd().split("\n").at(-1)).toMatch(
        /^\d\d:\d\d:\d\d service restarted while the build was running$/,
      );
      await until(() => gitlab.statusesOf().length === 3, 10_000, "failed status");
      expect(gitlab.statusesOf().at(-1)).toBe(`failed@${repo.sha.slice(0, 7)}`);
      expect(gitlab.statuses.at(-1)!.description).toBe("failed: service restarted while the build was running");
      expect(existsSync(workDir)).toBe(false);
      expect(qemuPids(`${workDir}/`)).toEqual([]);

      second.child.kill("SIGTERM");
      expect(await new Promise((resolve) => second.child.once("exit", (code) => resolve(code)))).toBe(143);
    },
    10 * 60_000,
  );

  it(
    "a push during the running build cancels it within 5 s (QEMU stopped, status canceled) and the new commit's build runs to success",
    async () => {
      gitlab = await new GitLabStandIn().start();
      const repo = makeTinyosRepo();
      gitlab.mrs.set(3, {
        state: "opened",
        sha: repo.sha,
        source_project_id: PROJECT_ID,
        target_project_id: PROJECT_ID,
      });
      const config = testConfig(gitlab.url);
      server = await startServer(config, { onError: () => {} }); // the library build
      const firstWork = join(config.stateDir, "work", "1");
      await deliver(server.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }));
      await until(() => qemuPids(`${firstWork}/`).length === 1, QEMU_START_MS, "QEMU running for build 1");
      // The process exists before it answers QMP; cancel a VM that is really up.
      await until(
        () => readFileSync(join(config.stateDir, "logs", "1.log"), "utf8").includes("VM started"),
        30_000,
        "VM started in the log",
      );

      const template = readFileSync(join(repo.dir, "images/tinyos.toml"), "utf8");
      const newSha = repo.commit("images/tinyos.toml", `${template}\n# a change pushed while the build ran\n`);
      gitlab.mrs.set(3, { state: "opened", sha: newSha, source_project_id: PROJECT_ID, target_project_id: PROJECT_ID });
      const t0 = Date.now();
      await deliver(server.url, pushPayload({ oldrev: repo.sha, sha: newSha, repo: repo.dir }), {
        event: "Merge Request Hook",
      });
      // Done-when 3's deadline, as a deadline: canceled, QEMU gone and the work dir removed within 5 s.
      await until(() => server!.store.getBuild(1)?.state === "canceled", 5000, "build 1 canceled");
      expect(await waitNoQemu(`${firstWork}/`, Math.max(0, 5000 - (Date.now() - t0)))).toEqual([]);
      expect(server.store.getBuild(1)?.reason).toBe(`superseded by a push of ${newSha.slice(0, 8)}`);

      await until(
        () => ["success", "failed", "canceled"].includes(server!.store.getBuild(2)?.state ?? ""),
        25 * 60_000,
        "build 2 finished",
      );
      await server.service.idle();
      const second = server.store.getBuild(2)!;
      expect(second.reason).toBeNull();
      expect(second).toMatchObject({ state: "success", sha: newSha });
      expect(existsSync(firstWork)).toBe(false);
      const of = (sha: string) => gitlab.statuses.filter((s) => s.sha === sha).map((s) => s.state);
      expect(of(repo.sha)).toEqual(["pending", "running", "canceled"]);
      expect(of(newSha)).toEqual(["pending", "running", "success"]);
      const log = await (await fetch(`${server.url}/builds/1/log`)).text();
      expect(log).toContain("VM started");
      expect(log).toMatch(/canceled: superseded by a push of/);
    },
    30 * 60_000,
  );

  it(
    "a template's shell-local cannot read serve's GitLab token: not in its environment, not in any /proc/*/environ, not from a secret file",
    async () => {
      gitlab = await new GitLabStandIn().start();
      // What an MR author would try: every environment on the host, its parent's, and the files any *_FILE variable names, printed reversed (past the masker).
      const scan = [
        "echo scan: uid $(id -u)",
        "echo scan: own env $(env | grep -c glpat- || true)",
        "echo scan: parent env $(tr '\\0' '\\n' < /proc/$PPID/environ 2>/dev/null | grep -c glpat- || true)",
        "echo scan: all environs $(for e in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $e 2>/dev/null; done | grep -c glpat- || true)",
        "for e in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $e 2>/dev/null; done | sed -n 's/^[A-Z_]*_FILE=//p' | sort -u > files.txt",
        // Without build_user the build is serve's own user, which can read serve's files (docs/security.md): only root's run tries them.
        ...(AS_ROOT
          ? [
              "while read f; do echo scan: secret file $f; rev < $f 2>/dev/null || echo scan: cannot read $f; done < files.txt",
            ]
          : []),
        "for d in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $d 2>/dev/null; done | grep glpat- | rev || true",
        "echo scan: done",
      ];
      const repo = makeTinyosRepo({
        copyIso: AS_ROOT,
        patch: (t) => `${t}\n[[provisioner]]\ntype = "shell-local"\ninline = ${JSON.stringify(scan)}\n`,
      });
      gitlab.mrs.set(3, {
        state: "opened",
        sha: repo.sha,
        source_project_id: PROJECT_ID,
        target_project_id: PROJECT_ID,
      });
      const { configFile, stateDir, env } = serveFiles(gitlab.url);
      const served = await serveProcess(configFile, env);
      expect(
        (await deliver(served.url, notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: repo.sha }))).status,
      ).toBe(202);
      const log = join(stateDir, "logs", "1.log");
      // The stored events, rendered as the plain log shows them.
      const rendered = () =>
        existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).map(renderLine).join("\n") : "";
      await until(() => /build (succeeded|failed|cancelled)/.test(rendered()), 25 * 60_000, "the build's end");
      const text = rendered();
      const reversed = [...TOKEN].reverse().join("");
      expect(text).toContain("scan: done");
      expect(text).toMatch(/scan: own env 0$/m);
      expect(text).toMatch(/scan: parent env 0$/m);
      expect(text).toMatch(/scan: all environs 0$/m);
      if (AS_ROOT) expect(text).toMatch(/scan: uid 65534$/m);
      expect(text).not.toContain(reversed);
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain("<sensitive>");
      expect(text).toMatch(/build succeeded/);
      await until(() => gitlab.statusesOf().at(-1) === `success@${repo.sha.slice(0, 7)}`, 30_000, "success status");
      expect(JSON.stringify(gitlab.notes)).not.toContain(reversed);
      served.child.kill("SIGTERM");
      await new Promise((resolve) => served.child.once("exit", resolve));
    },
    30 * 60_000,
  );
});
