// Issue 16's done-when 1 and 3 with REAL tinyos builds under QEMU (TCG): a redis-server,
// `tsimg serve` with [queue] and two `tsimg worker`s, each a process of its own with its own
// dirs; two merge requests' builds at once, one on each worker, both succeed with statuses
// and notes as in-process builds; no process of a worker (nor a build's) and no file of
// theirs holds the GitLab token. Two TCG VMs on two cores: the test holds
// /tmp/tsimg-qemu.lock for its whole length (run it under flock, like every VM test).
// The faults run with stand-in builds in test/worker/queue.test.ts.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver, GitLabStandIn, notePayload, PROJECT_ID, SECRET, TOKEN, until } from "../serve/helpers.js";
import { startRedis, type TestRedis } from "../worker/redis.js";
import { CLI, pngSize, requireFixture, ROOT } from "./helpers.js";
import { makeTinyosRepo } from "./serve-repo.js";

/** As root, the workers run builds as nobody (a worker refuses to run builds as root). */
const AS_ROOT = process.getuid?.() === 0;
const children: ChildProcess[] = [];
/** What each process printed, shown when the test fails. */
const outputs = new Map<string, () => string>();
let passed = false;
let redis: TestRedis | undefined;
let gitlab: GitLabStandIn | undefined;

beforeAll(requireFixture);
afterAll(async () => {
  if (!passed) for (const [name, output] of outputs) console.error(`--- ${name}:\n${output().slice(-4000)}`);
  // SIGTERM; a worker still building after 10 s is killed (its build process and QEMU die with it).
  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once("exit", r));
  for (const child of children) child.kill("SIGTERM");
  await Promise.race([Promise.all(children.map(exited)), new Promise((r) => setTimeout(r, 10_000))]);
  for (const child of children) child.kill("SIGKILL");
  await Promise.all(children.map(exited));
  await gitlab?.close();
  await redis?.close();
}, 60_000);

/** The CLI as nobody can run it: the checkout's when readable, else a copy in /tmp. */
function cli(): string {
  if (!AS_ROOT) return CLI;
  const readable = (path: string) =>
    spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--init-groups", "--", "test", "-r", path]).status === 0;
  if (readable(join(ROOT, "dist/serve/build-worker.js")) && readable(join(ROOT, "node_modules/execa/package.json")))
    return CLI;
  const copy = mkdtempSync(join(tmpdir(), "tsimg-runtime-"));
  chmodSync(copy, 0o755);
  for (const part of ["dist", "node_modules", "package.json"])
    cpSync(join(ROOT, part), join(copy, part), { recursive: true });
  return join(copy, relative(ROOT, CLI));
}

/** A process of the CLI; resolves once its output matches `ready`. */
async function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [cli(), ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  outputs.set(args.join(" "), () => output);
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = ready.exec(output);
      if (m) resolve(m);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code, signal) => {
      output += `\n[exited with ${code ?? signal}]`;
      reject(new Error(`tsimg ${args[0]} exited with ${code}: ${output}`));
    });
  });
  return { child, match };
}

/** An environment with nothing of ours in it (no TSIMG_ variable). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TSIMG_")));
}

/** Every process in the tree under pid (pid included). */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

describe("tsimg serve with two tsimg workers (real QEMU)", () => {
  it(
    "two MR builds of tinyos at once, one on each worker, both succeed with statuses and notes; no worker process or file holds the GitLab token",
    async () => {
      redis = await startRedis();
      gitlab = await new GitLabStandIn().start();
      const repo = makeTinyosRepo({ copyIso: AS_ROOT });
      gitlab.repoDir = repo.dir;
      // Two merge requests, each at its own commit (statuses are per commit).
      const shas = { 3: repo.sha, 4: repo.commit("README.md", "another merge request\n") };
      for (const iid of [3, 4] as const)
        gitlab.mrs.set(iid, {
          state: "opened",
          sha: shas[iid],
          source_project_id: PROJECT_ID,
          target_project_id: PROJECT_ID,
        });

      // serve: its own dir, its secrets in files.
      const serveDir = mkdtempSync(join(tmpdir(), "tsimg-queue-serve-"));
      writeFileSync(join(serveDir, "gitlab-token"), `${TOKEN}\n`, { mode: 0o600 });
      writeFileSync(join(serveDir, "webhook-secret"), `${SECRET}\n`, { mode: 0o600 });
      writeFileSync(
        join(serveDir, "serve.toml"),
        [
          `listen = "127.0.0.1:0"`,
          `public_url = "https://tsimg.example.com"`,
          `gitlab_url = "${gitlab.url}"`,
          `allowed_projects = [${PROJECT_ID}]`,
          `state_dir = "${join(serveDir, "state")}"`,
          "dashboard_open = true",
          "[queue]",
          `redis_url = "${redis.url}"`,
          "lock_time = 30",
          "",
        ].join("\n"),
      );
      const serve = await run(
        ["serve", "--config", join(serveDir, "serve.toml")],
        {
          ...cleanEnv(),
          TSIMG_GITLAB_TOKEN_FILE: join(serveDir, "gitlab-token"),
          TSIMG_WEBHOOK_SECRET_FILE: join(serveDir, "webhook-secret"),
        },
        /listening on (http:\/\/\S+)/,
      );
      const url = serve.match[1]!;

      // Two workers, each with its own dirs and one slot.
      const workers = [];
      for (const name of ["alpha", "beta"]) {
        const dir = mkdtempSync(join(tmpdir(), `tsimg-queue-${name}-`));
        chmodSync(dir, 0o711);
        writeFileSync(
          join(dir, "worker.toml"),
          [
            `name = "${name}"`,
            `redis_url = "${redis.url}"`,
            "slots = 1",
            `labels = ["x86_64"]`,
            `work_dir = "${join(dir, "work")}"`,
            `cache_dir = "${join(dir, "cache")}"`,
            ...(AS_ROOT ? ['build_user = "nobody"'] : []),
            "",
          ].join("\n"),
        );
        workers.push({
          name,
          dir,
          ...(await run(["worker", "--config", join(dir, "worker.toml")], cleanEnv(), /waiting for jobs/)),
        });
      }

      for (const [iid, noteId] of [
        [3, 1001],
        [4, 1002],
      ] as const)
        expect(
          (
            await deliver(
              url,
              notePayload({ note: "/tsimg build tinyos", repo: repo.dir, sha: shas[iid], iid, noteId }),
            )
          ).status,
        ).toBe(202);
      const api = async (id: number) =>
        (await (await fetch(`${url}/api/builds/${id}`)).json()) as { state: string; reason: string | null };
      /** The worker a build's log says took it. */
      const workerOf = async (id: number) =>
        /running on worker (\S+)/.exec(await (await fetch(`${url}/builds/${id}/log`)).text())?.[1] ?? null;

      // Both run at once, one on each worker; meanwhile no process of a worker holds the token.
      let both: [string | null, string | null] = [null, null];
      const deadline = Date.now() + 10 * 60_000;
      while (Date.now() < deadline) {
        const [a, b] = await Promise.all([api(1), api(2)]);
        if (a.state === "running" && b.state === "running") {
          both = [await workerOf(1), await workerOf(2)];
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(both.sort()).toEqual(["alpha", "beta"]);
      // The console on request, across hosts: serve asks the worker, the worker asks QEMU.
      let png: Buffer | undefined;
      while (!png && Date.now() < deadline) {
        const shot = await fetch(`${url}/builds/1/screenshot.png`);
        if (shot.status === 200) png = Buffer.from(await shot.arrayBuffer());
        else if ((await api(1)).state !== "running") break;
        else await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      expect(png && pngSize(png).width, "a console screenshot from the worker's VM").toBeGreaterThan(0);
      for (const w of workers)
        for (const pid of tree(w.child.pid!)) {
          let environ: string;
          try {
            environ = readFileSync(`/proc/${pid}/environ`, "utf8");
          } catch {
            continue;
          }
          expect(environ, `process ${pid} of worker ${w.name}`).not.toContain(TOKEN);
        }

      while (Date.now() < deadline) {
        const states = (await Promise.all([api(1), api(2)])).map((b) => b.state);
        if (states.every((s) => ["success", "failed", "canceled"].includes(s))) break;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      const builds = await Promise.all([api(1), api(2)]);
      expect(builds.map((b) => [b.state, b.reason])).toEqual([
        ["success", null],
        ["success", null],
      ]);
      await until(() => gitlab!.statuses.filter((s) => s.state === "success").length === 2, 10_000, "success statuses");
      for (const sha of Object.values(shas))
        expect(gitlab.statuses.filter((s) => s.sha === sha).map((s) => s.state)).toEqual([
          "pending",
          "running",
          "success",
        ]);
      expect(gitlab.notes).toHaveLength(2);
      for (const note of gitlab.notes) {
        expect(note.body).toMatch(/\| tinyos \| :white_check_mark: success \|/);
        expect(note.body).toMatch(/`[0-9a-f]{64}`/);
      }
      const log = await (await fetch(`${url}/builds/1/log`)).text();
      expect(log).toMatch(/running on worker (alpha|beta)/);
      expect(log).toContain("[serial]");

      // No file of a worker holds the token.
      for (const w of workers) {
        const grep = spawnSync("grep", ["-rlF", "--", TOKEN, w.dir], { encoding: "utf8" });
        expect(grep.stdout, `files of worker ${w.name}`).toBe("");
      }
      passed = true;
    },
    25 * 60_000,
  );
});
