// serve's side of a build process (build-worker.ts). The default way serve builds: the
// template's code (shell-local, post-processors, QEMU) runs in a child started through
// setpriv, with an environment built from nothing (no variable of serve's, so none of its
// secrets), killed with serve (--pdeathsig), and, with build_user, as that user with no
// capabilities and no way to gain privileges (--no-new-privs): it cannot read serve's
// secret files, its /proc/<pid>/environ or its memory. Whatever the child sends is
// untrusted (it runs a merge request's code): checked, sized and never used as a path.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execa } from "execa";
import type { BuildEvent } from "../index.js";
import type { BuildUser } from "./config.js";
import { MAX_SBOM, type BuildFunction, type BuildOutput, type BuildSandbox } from "./build-function.js";
import type { ArtifactInfo } from "./store.js";

/** Longest message line accepted from a build process (a console screenshot in base64). */
const MAX_LINE = 32 * 1024 * 1024;
/** After a cancel, how long the build process has to clean up (stop QEMU) before it is killed. */
const KILL_AFTER_CANCEL_MS = 60_000;
const SCREENSHOT_TIMEOUT_MS = 15_000;
/** serve's variables a build sees (besides build_env); none of them is a secret. */
const PASSED = ["LANG", "LC_ALL", "TZ"];
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** setpriv's options that make the child build_user: its uid, gid and groups (kvm, say), no capabilities. */
function dropTo(user: BuildUser | undefined): string[] {
  const become = user ? [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--inh-caps=-all"] : [];
  return [...become, "--no-new-privs"];
}

/** A build's whole environment: PATH, locale, HOME and TMPDIR in its work dir, the ISO cache, build_env. */
export function buildEnvironment(workDir: string, sandbox: BuildSandbox): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH || DEFAULT_PATH };
  for (const name of PASSED) if (process.env[name]) env[name] = process.env[name] as string;
  Object.assign(env, sandbox.env);
  env.HOME = workDir;
  env.TMPDIR = join(workDir, "tmp");
  env.TSIMG_CACHE_DIR = sandbox.cacheDir;
  if (sandbox.user) env.USER = env.LOGNAME = sandbox.user.name;
  return env;
}

/**
 * Undefined when serve can start a process as build_user and that process reaches the work
 * dirs and the ISO cache under stateDir (prepared by the service); else what is wrong.
 */
export function checkBuildUser(user: BuildUser, stateDir: string): string | undefined {
  const probe = spawnSync(
    "setpriv",
    [
      ...dropTo(user),
      "--",
      "sh",
      "-c",
      'id -u && test -x "$1/work" && test -w "$1/cache" && echo reachable',
      "sh",
      stateDir,
    ],
    {
      encoding: "utf8",
      env: { PATH: process.env.PATH || DEFAULT_PATH },
    },
  );
  const [uid, reachable] = (probe.stdout ?? "").trim().split("\n");
  if (uid !== String(user.uid)) {
    const why = (probe.error?.message ?? probe.stderr ?? "").trim().split("\n")[0];
    return `build_user ${user.name}: serve cannot start a process as that user (${why || `setpriv exited with ${probe.status}`}); serve must run as root (or with CAP_SETUID and CAP_SETGID) to switch builds to build_user`;
  }
  if (reachable !== "reachable")
    return `build_user ${user.name} cannot reach ${stateDir}/work and ${stateDir}/cache: every folder above state_dir must be searchable by that user (chmod o+x)`;
  return undefined;
}

/** The worker's entry: the compiled .js, or the .ts through tsx when running from a checkout. */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL("./build-worker.js", import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return { file: fileURLToPath(new URL("./build-worker.ts", import.meta.url)), execArgv: ["--import", tsx] };
}

/** The default build function: the library's loadTemplate + build in an isolated child process. */
export const isolatedBuild: BuildFunction = async (input) => {
  const { sandbox, workDir } = input;
  // The build owns its work dir (the checkout, output, tmp) and nothing else of serve's.
  mkdirSync(join(workDir, "tmp"), { recursive: true });
  if (sandbox.user) await execa("chown", ["-R", "-h", "--", `${sandbox.user.uid}:${sandbox.user.gid}`, workDir]);
  const worker = workerEntry();
  const job = { templatePath: input.templatePath, workDir, repoDir: join(workDir, "repo") };
  const child = spawn(
    "setpriv",
    [
      ...dropTo(sandbox.user),
      "--pdeathsig",
      "SIGKILL",
      "--",
      process.execPath,
      ...worker.execArgv,
      worker.file,
      JSON.stringify(job),
    ],
    {
      cwd: workDir,
      env: buildEnvironment(workDir, sandbox),
      stdio: ["pipe", "pipe", "pipe", "pipe"],
      detached: true,
    },
  );
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr])
    readLines(stream!, 64 * 1024, (line) => line.trim() && tail.push(line.slice(0, 300)) > 5 && tail.shift());
  const killGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone already
    }
  };
  // A request to a build process that has just ended fails with EPIPE: nothing to report.
  child.stdin!.on("error", () => undefined);
  const send = (message: unknown) => void (child.stdin!.writable && child.stdin!.write(`${JSON.stringify(message)}\n`));
  const shots = new Map<
    number,
    { resolve: (png: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  let nextShot = 1;
  let result: Record<string, unknown> | undefined;
  readLines(
    child.stdio[3] as Readable,
    MAX_LINE,
    (line) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (m.type === "event" && isEvent(m.event)) {
        try {
          input.onEvent(m.event);
        } catch {
          // a malformed event: not worth a line
        }
      } else if (m.type === "secrets" && Array.isArray(m.values))
        input.addSecrets(
          m.values.filter((v): v is string => typeof v === "string" && v.length <= 65_536).slice(0, 1000),
        );
      else if (m.type === "screenshot" && typeof m.id === "number") {
        const waiting = shots.get(m.id);
        shots.delete(m.id);
        clearTimeout(waiting?.timer);
        if (typeof m.png === "string") waiting?.resolve(Buffer.from(m.png, "base64"));
        else waiting?.reject(new Error(typeof m.error === "string" ? m.error : "no screenshot"));
      } else if (m.type === "result") result = m;
    },
    () => {
      tail.push("the build process sent a message larger than serve accepts");
      killGroup();
    },
  );
  input.setScreenshotSource(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        const id = nextShot++;
        const timer = setTimeout(
          () => shots.delete(id) && reject(new Error("the build process did not answer")),
          SCREENSHOT_TIMEOUT_MS,
        );
        shots.set(id, { resolve, reject, timer });
        send({ type: "screenshot", id });
      }),
  );
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    const r: unknown = input.signal.reason;
    send({ type: "cancel", reason: typeof r === "string" ? r : r instanceof Error ? r.message : "cancelled" });
    killTimer = setTimeout(killGroup, KILL_AFTER_CANCEL_MS);
  };
  if (input.signal.aborted) onAbort();
  else input.signal.addEventListener("abort", onAbort, { once: true });

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once("error", (error) => {
      tail.push(error.message);
      resolve([null, null]);
    });
    child.once("close", (c, s) => resolve([c, s]));
  });
  input.signal.removeEventListener("abort", onAbort);
  clearTimeout(killTimer);
  for (const { reject, timer } of shots.values()) {
    clearTimeout(timer);
    reject(new Error("the build has ended"));
  }
  child.stdin!.destroy();
  if (!result) {
    const how = signal ? `was killed by ${signal}` : code === null ? "could not start" : `exited with code ${code}`;
    return {
      ok: false,
      cancelled: input.signal.aborted,
      error: `the build process ${how} before it reported a result${tail.length > 0 ? `: ${tail.join(" / ")}` : ""}`,
      artifacts: [],
    };
  }
  return toOutput(result, workDir);
};

/** Artifacts a build process (or a tsimg worker) reported, checked field by field: at most 100, each with a file name. */
export function checkedArtifacts(list: unknown): ArtifactInfo[] {
  return (Array.isArray(list) ? list : []).slice(0, 100).flatMap((a: Record<string, unknown> | null) =>
    a && typeof a.file === "string"
      ? [
          {
            file: a.file,
            ...(typeof a.size === "number" ? { size: a.size } : {}),
            ...(typeof a.sha256 === "string" && /^[0-9a-f]{64}$/.test(a.sha256) ? { sha256: a.sha256 } : {}),
            ...(typeof a.uploadedTo === "string" ? { uploadedTo: a.uploadedTo } : {}),
          },
        ]
      : [],
  );
}

/** The worker's result, checked field by field; a failure screenshot is written outside the work dir, where only serve writes. */
function toOutput(r: Record<string, unknown>, workDir: string): BuildOutput {
  const artifacts = checkedArtifacts(r.artifacts);
  let failureScreenshot: string | undefined;
  if (typeof r.failureScreenshot === "string") {
    failureScreenshot = `${workDir}.failure.png`;
    writeFileSync(failureScreenshot, Buffer.from(r.failureScreenshot, "base64"), { mode: 0o600 });
  }
  return {
    ok: r.ok === true,
    cancelled: r.cancelled === true,
    ...(typeof r.error === "string" ? { error: r.error } : {}),
    artifacts,
    ...(failureScreenshot ? { failureScreenshot } : {}),
    // The note's "what changes in the image" compares SBOMs (image-changes.ts).
    ...(typeof r.sbom === "string" && r.sbom.length <= MAX_SBOM ? { sbom: r.sbom } : {}),
  };
}

function isEvent(event: unknown): event is BuildEvent {
  const e = event as Record<string, unknown> | null;
  return typeof e === "object" && e !== null && typeof e.type === "string" && typeof e.time === "number";
}

/** Calls onLine for each line; a line longer than max calls onOverflow and stops reading. */
function readLines(stream: Readable, max: number, onLine: (line: string) => void, onOverflow?: () => void): void {
  let buffer = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      onLine(line);
    }
    if (buffer.length > max) {
      buffer = "";
      if (onOverflow) {
        onOverflow();
        stream.destroy();
      }
    }
  });
  stream.on("error", () => undefined);
}
