// Reaching a running `tsimg build` from another shell (`tsimg screenshot <output_directory>`).
// Each build serves a tiny HTTP endpoint on a Unix socket in a private temp dir (mode 0700,
// so only its user can connect) and names the socket in `<output_directory>.tsimg-control`,
// beside the output directory rather than inside it: the build owns that directory and
// --force replaces it. The file goes when the build ends; one left by a killed build is
// recognised by its dead pid and replaced by the next build.
import { mkdirSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { NoVmRunningError, TsimgError, type RunningBuild } from "../index.js";

interface ControlFile {
  pid: number;
  socket: string;
  build: string;
}

/** `<output_directory>.tsimg-control`, absolute, whatever trailing slash the user typed. */
export function controlFileOf(outputDirectory: string): string {
  return `${resolve(outputDirectory)}.tsimg-control`;
}

/** Serves the build's screenshot on a socket and names it beside the output directory; close() undoes both. */
export async function publishControl(
  outputDirectory: string,
  name: string,
  running: Pick<RunningBuild, "screenshot">,
): Promise<{ published: boolean; close(): Promise<void> }> {
  const file = controlFileOf(outputDirectory);
  const dir = await mkdtemp(join(tmpdir(), "tsimg-control-"));
  const socket = join(dir, "control.sock");
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/screenshot.png") return void res.writeHead(404).end("not found\n");
    running.screenshot().then(
      (png) => res.writeHead(200, { "Content-Type": "image/png", "Content-Length": png.length }).end(png),
      (error: Error) =>
        res
          .writeHead(error instanceof NoVmRunningError ? 409 : 500, { "Content-Type": "text/plain; charset=utf-8" })
          .end(error.message),
    );
  });
  await new Promise<void>((done, fail) => server.once("error", fail).listen(socket, done));
  const own: ControlFile = { pid: process.pid, socket, build: name };
  // The output directory's parent may not exist yet: whatever is made for the file goes with it.
  const made = mkdirSync(dirname(file), { recursive: true });
  const published = claim(file, own);
  const removeFile = () => {
    if (published && readControl(file)?.socket === socket) rmSync(file, { force: true });
    if (made !== undefined) removeEmptyUpTo(dirname(file), made);
  };
  atExit.add(removeFile);
  return {
    published,
    async close() {
      atExit.delete(removeFile);
      removeFile();
      await new Promise<void>((done) => server.close(() => done()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// A second Ctrl-C exits at once (process.exit): control files must not outlive us even then.
// One listener for every build of the run (--parallel may run many).
const atExit = new Set<() => void>();
process.once("exit", () => atExit.forEach((remove) => remove()));

/** Writes the control file unless a live build already owns it (two builds aimed at one output directory). */
function claim(file: string, own: ControlFile): boolean {
  const text = `${JSON.stringify(own)}\n`;
  try {
    writeFileSync(file, text, { flag: "wx", mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const other = readControl(file);
  if (other && other.pid !== process.pid && alive(other.pid)) return false;
  unlinkSync(file);
  writeFileSync(file, text, { flag: "wx", mode: 0o600 });
  return true;
}

/** Removes `dir` and its parents up to `top` while they are empty (a build that ended early). */
function removeEmptyUpTo(dir: string, top: string): void {
  for (let d = dir; d.length >= top.length; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch (error) {
      // Not empty: the build's output is there. Gone already: its parent may still be empty.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return;
    }
    if (d === top) return;
  }
}

function readControl(file: string): ControlFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<ControlFile>;
    return typeof parsed.pid === "number" && typeof parsed.socket === "string"
      ? { pid: parsed.pid, socket: parsed.socket, build: String(parsed.build ?? "") }
      : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Asks the build writing outputDirectory for a PNG of its console; the error says why not. */
export async function requestScreenshot(outputDirectory: string): Promise<{ png: Buffer; build: string }> {
  const file = controlFileOf(outputDirectory);
  const control = readControl(file);
  const nothing = `no tsimg build is running with output_directory ${outputDirectory}`;
  if (!control)
    throw new TsimgError(nothing, { details: [`(there is no readable ${file}; it exists only while a build runs)`] });
  if (!alive(control.pid))
    throw new TsimgError(nothing, { details: [`(${file} was left by pid ${control.pid}, which has ended)`] });
  const answer = await new Promise<{ status: number; body: Buffer }>((done, fail) => {
    const req = request({ socketPath: control.socket, path: "/screenshot.png", method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", fail);
    });
    req.setTimeout(30_000, () => req.destroy(new Error("the build did not answer within 30 s")));
    req.on("error", fail);
    req.end();
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ECONNREFUSED" || error.code === "ENOENT")
      throw new TsimgError(nothing, { details: [`(pid ${control.pid} no longer listens on ${control.socket})`] });
    throw new TsimgError(`cannot reach the build (pid ${control.pid}): ${error.message}`);
  });
  if (answer.status === 200) return { png: answer.body, build: control.build };
  throw new TsimgError(
    `build ${control.build} (pid ${control.pid}) has no screenshot: ${answer.body.toString("utf8")}`,
  );
}
