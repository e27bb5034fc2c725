// One build in a process of its own: what serve starts for each build (worker-client.ts),
// with a clean environment and, with build_user, as that user. It runs the library's
// loadTemplates + startBuild (every build of a Packer template, in turn) and talks to serve in JSON lines: requests on stdin (cancel,
// screenshot), everything it has to say on fd 3 (events, the plan's secrets, the result).
// Nothing of serve's is in this process: no token, no webhook secret, no database.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { ConfigError, ConfigErrors, loadTemplates, startBuild, type BuildPlan, type RunningBuild } from "../index.js";

/** What serve asks the worker to build (argv[2], JSON). */
export interface WorkerJob {
  templatePath: string;
  workDir: string;
  /** The checkout: stripped from messages, so they name repository paths. */
  repoDir: string;
}

/** An artifact as the worker reports it. */
export interface WorkerArtifact {
  file: string;
  size?: number;
  sha256?: string;
  uploadedTo?: string;
}

/** A failure screenshot larger than this is not sent. */
const MAX_SCREENSHOT = 8 * 1024 * 1024;

/** A build error as one text: a template's errors each on its own line with file:line:col, key and hint. */
export function describeError(error: unknown, repoDir?: string): string {
  const text =
    error instanceof ConfigErrors
      ? [`${error.message}:`, ...error.errors.map((e) => `- ${configLine(e)}`)].join("\n")
      : error instanceof ConfigError
        ? configLine(error)
        : error instanceof Error
          ? error.message
          : String(error);
  if (!repoDir) return text;
  // Paths as the repository names them: absolute, or relative to the work dir (the cwd).
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const prefix = new RegExp(`(^|[\\s"'(\\[])(${escape(repoDir)}|${escape(relative(process.cwd(), repoDir))})/`, "g");
  return text.replace(prefix, "$1");
}

function configLine(e: ConfigError): string {
  const where = e.location ? `${e.location}: ` : "";
  const key = e.key && !e.message.includes(e.key) ? ` [${e.key}]` : "";
  return `${where}${e.message}${key}${e.details.length > 0 ? ` (${e.details.join("; ")})` : ""}`;
}

async function main(job: WorkerJob): Promise<void> {
  const out = createWriteStream("", { fd: 3 });
  const send = (message: unknown) => out.write(`${JSON.stringify(message)}\n`);
  const finish = (result: Record<string, unknown>) => {
    send({ type: "result", ...result });
    out.end(() => process.exit(0));
  };
  const controller = new AbortController();
  // The build once it runs (the stdin handler asks it for screenshots).
  const current: { running?: RunningBuild } = {};
  createInterface({ input: process.stdin })
    .on("line", (line) => {
      let m: { type?: unknown; id?: unknown; reason?: unknown };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        return;
      }
      if (m.type === "cancel") controller.abort(typeof m.reason === "string" ? m.reason : "cancelled");
      if (m.type === "screenshot" && typeof m.id === "number") {
        const id = m.id;
        (current.running ? current.running.screenshot() : Promise.reject(new Error("no VM is running yet"))).then(
          (png) => send({ type: "screenshot", id, png: png.toString("base64") }),
          (error: Error) => send({ type: "screenshot", id, error: error.message }),
        );
      }
    })
    // serve closed the pipe: it is gone or giving up on this build.
    .on("close", () => controller.abort("tsimg serve went away"));

  let plans: BuildPlan[];
  try {
    // A Packer template's relative paths start at the working directory, which for Packer
    // users is the template's folder (cd packer/rocky9 && packer build .).
    if (!job.templatePath.endsWith(".toml"))
      process.chdir(statSync(job.templatePath).isDirectory() ? job.templatePath : dirname(job.templatePath));
    // Every qemu build of a Packer template, one after another, as `tsimg build` runs them.
    plans = loadTemplates(job.templatePath);
  } catch (error) {
    return finish({ ok: false, cancelled: false, error: describeError(error, job.repoDir), artifacts: [] });
  }
  send({ type: "secrets", values: [...new Set(plans.flatMap((plan) => plan.secrets))] });
  const artifacts: WorkerArtifact[] = [];
  for (const plan of plans) {
    // Outputs stay in the build's own work dir, whatever the template says; one folder per build.
    plan.source.output_directory = join(job.workDir, "output", ...(plans.length > 1 ? [plan.image.name] : []));
    // Layers go to the sandbox's cache (TSIMG_CACHE_DIR), shared by the builds of every merge request, so a retried build continues from the layers the failed one kept.
    plan.source.layer_cache_dir = undefined;
    current.running = startBuild(plan, {
      signal: controller.signal,
      onEvent: (event) => send({ type: "event", event }),
      force: true,
    });
    const result = await current.running.result;
    if (!result.ok) {
      const shot = result.screenshot ? readScreenshot(result.screenshot) : undefined;
      const error = result.error ? describeError(result.error, job.repoDir) : undefined;
      return finish({
        ok: false,
        cancelled: result.cancelled,
        ...(error ? { error: plans.length > 1 ? `${plan.image.name}: ${error}` : error } : {}),
        ...(shot ? { failureScreenshot: shot } : {}),
        artifacts: [],
      });
    }
    artifacts.push(...(await Promise.all(artifactsOf(result).map(describeArtifact))));
  }
  // One SBOM per image: "what changes in the image" compares a template with one build.
  const sbom = plans.length === 1 ? readSbom(plans[0]!.source.output_directory, plans[0]!.source.vm_name) : undefined;
  finish({ ok: true, cancelled: false, artifacts, ...(sbom ? { sbom } : {}) });
}

/** What a successful build published: its post-processors' artifacts, else the disk. */
function artifactsOf(result: { artifact?: string | undefined }): LibraryArtifact[] {
  const listed = ((result as { artifacts?: LibraryArtifact[] }).artifacts ?? []).filter(
    (a) => a.files[0] !== undefined,
  );
  if (listed.length > 0) return listed;
  return result.artifact ? [{ files: [result.artifact], id: result.artifact, checksums: {} }] : [];
}

/** The SBOM the build wrote next to its disk (write-sbom: vm_name without its disk extension). */
function readSbom(outputDir: string, vmName: string): string | undefined {
  try {
    return readFileSync(join(outputDir, `${vmName.replace(/\.(qcow2|raw|img)$/, "")}.cdx.json`), "utf8");
  } catch {
    return undefined;
  }
}

function readScreenshot(path: string): string | undefined {
  try {
    return statSync(path).size <= MAX_SCREENSHOT ? readFileSync(path).toString("base64") : undefined;
  } catch {
    return undefined;
  }
}

interface LibraryArtifact {
  files: readonly string[];
  id: string;
  size?: number;
  checksums?: Readonly<Record<string, string>>;
}

async function describeArtifact(a: LibraryArtifact): Promise<WorkerArtifact> {
  const file = a.files[0] as string;
  const size = a.size ?? statSync(file, { throwIfNoEntry: false })?.size;
  const sha256 = a.checksums?.sha256 ?? (await sha256Of(file).catch(() => undefined));
  return {
    file,
    ...(size === undefined ? {} : { size }),
    ...(sha256 ? { sha256 } : {}),
    ...(/^[a-z][a-z0-9+.-]*:\/\//.test(a.id) ? { uploadedTo: a.id } : {}),
  };
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

// Run only as a process of its own (serve imports describeError from here too).
if (process.argv[1] && /build-worker\.[jt]s$/.test(process.argv[1]) && process.argv[2])
  void main(JSON.parse(process.argv[2]) as WorkerJob);
