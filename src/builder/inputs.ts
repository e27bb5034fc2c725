// What went into an image, for the manifest's `inputs`: the ISO, the template, what the
// guest fetched over HTTP, every provisioner script and file (inline commands as text, masked), the template repo's git
// commit, and the tools' versions. Paths are relative to the template's directory and
// keys are sorted, so two builds from the same inputs give byte-identical JSON wherever
// the checkout lives.
import { createHash } from "node:crypto";
import { Masker } from "../core/masker.js";
import { TSIMG_VERSION } from "../core/version.js";
import { sha256File } from "../util/hash-file.js";
import { readdir, stat } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import { sortKeys } from "../postprocessors/manifest.js";
import type { BuildPlan } from "./plan.js";
import { runProgram } from "../util/run-program.js";

export interface InputsOptions {
  /** The ISO the build used (fetch-iso's choice among iso_urls, maybe a download); default iso_url. */
  isoPath?: string;
  /** The ISO's sha256 (hex) when fetch-iso already computed it; otherwise the ISO is read here. */
  isoSha256?: string;
  signal?: AbortSignal;
  /** The qemu-img program; default "qemu-img" (tests use a stand-in). */
  qemuImg?: string;
  /** Told about inputs that could not be described (a git repository git cannot read). */
  warn?: (message: string) => void;
}

/** One file of a directory input: its path inside the directory, `/`-separated, and sha256. */
export interface DirectoryEntry {
  path: string;
  sha256: string;
}

/** The manifest's `inputs` for a plan, keys sorted at every level. */
export async function collectInputs(plan: BuildPlan, options: InputsOptions = {}): Promise<Record<string, unknown>> {
  const { source, templateDir } = plan;
  const signal = options.signal;
  const rel = (path: string) => relative(templateDir, path).split(sep).join("/") || ".";
  const masker = new Masker();
  for (const secret of plan.secrets) masker.add(secret);
  const inputs: Record<string, unknown> = {
    template: { file: basename(plan.templatePath), sha256: await sha256File(plan.templatePath, signal) },
    iso: {
      file: basename(options.isoPath ?? source.iso_url),
      sha256: options.isoSha256 ?? (await sha256File(options.isoPath ?? source.iso_url, signal)),
    },
    variables: Object.fromEntries(
      Object.entries(plan.variables).map(([name, v]) => [name, v.sensitive ? "<sensitive>" : v.value]),
    ),
    provisioners: await Promise.all(
      plan.provisioners.map(async (p) => {
        if (p.type === "file") {
          // A download brings nothing into the image; content is described by its hash.
          if (p.direction === "download")
            return { type: "file", direction: "download", source: p.source, destination: rel(p.destination) };
          if (p.content !== undefined)
            return { type: "file", content_sha256: sha256Text(p.content), destination: p.destination };
          const describe = async (source: string) => {
            const shown = rel(source) + (source.endsWith("/") ? "/" : "");
            const info = await stat(source);
            return info.isDirectory()
              ? { source: shown, files: await hashDirectory(source, signal) }
              : { source: shown, sha256: await sha256File(source, signal) };
          };
          if (p.sources)
            return { type: "file", sources: await Promise.all(p.sources.map(describe)), destination: p.destination };
          return { type: "file", ...(await describe(p.source!)), destination: p.destination };
        }
        const scripts = [...(p.script ? [p.script] : []), ...(p.scripts ?? [])];
        // Inline commands as they ran, secrets masked, so `tsimg diff` can show what changed.
        if (scripts.length === 0) return { type: p.type, inline: (p.inline ?? []).map((line) => masker.mask(line)) };
        return {
          type: p.type,
          scripts: await Promise.all(scripts.map(async (s) => ({ path: rel(s), sha256: await sha256File(s, signal) }))),
        };
      }),
    ),
    tools: {
      tsimg: TSIMG_VERSION,
      qemu: await firstLineOf(source.qemu_binary, signal),
      "qemu-img": await firstLineOf(options.qemuImg ?? "qemu-img", signal),
    },
  };
  if (source.http_content) {
    inputs.http_content = Object.fromEntries(
      Object.entries(source.http_content).map(([path, body]) => [
        path.startsWith("/") ? path : `/${path}`,
        sha256Text(body),
      ]),
    );
  }
  if (source.http_directory) {
    inputs.http_directory = {
      path: rel(source.http_directory),
      files: await hashDirectory(source.http_directory, signal),
    };
  }
  const git = await gitState(templateDir, options.warn);
  if (git) inputs.git = git;
  return sortKeys(inputs) as Record<string, unknown>;
}

/** Every file under `dir`, sorted by path, with its sha256. Symlinks to files count as files. */
export async function hashDirectory(dir: string, signal?: AbortSignal): Promise<DirectoryEntry[]> {
  const out: DirectoryEntry[] = [];
  const walk = async (sub: string): Promise<void> => {
    const entries = await readdir(join(dir, sub), { withFileTypes: true });
    for (const entry of entries) {
      const path = sub ? `${sub}/${entry.name}` : entry.name;
      const full = join(dir, path);
      if (entry.isDirectory()) await walk(path);
      else if (
        entry.isFile() ||
        (entry.isSymbolicLink() &&
          (await stat(full).then(
            (s) => s.isFile(),
            () => false,
          )))
      ) {
        out.push({ path, sha256: await sha256File(full, signal) });
      }
    }
  };
  await walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function sha256Text(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The first line `<program> --version` prints, e.g. "QEMU emulator version 7.2.11 (Debian 1:7.2+dfsg-7+deb12u12)". */
export async function firstLineOf(program: string, signal?: AbortSignal): Promise<string> {
  const result = await runProgram(program, ["--version"], { timeoutMs: 30_000, ...(signal ? { signal } : {}) });
  const line = result.stdout.split("\n")[0]?.trim();
  if (!result.ok || !line) return `unknown (${program} --version failed)`;
  return line;
}

/** HEAD of the git repository holding `dir`, and whether its tree differs from it; undefined outside a repository. */
async function gitState(
  dir: string,
  warn?: (message: string) => void,
): Promise<{ commit: string; dirty: boolean } | undefined> {
  const git = (args: string[]) => runProgram("git", ["--no-optional-locks", "-C", dir, ...args], { timeoutMs: 30_000 });
  const head = await git(["rev-parse", "HEAD"]);
  if (!head.ok) {
    const said = head.stderr.trim() || head.problem;
    // Not a repository (or no git at all) is normal; anything else deserves a word.
    if (head.errorCode !== "ENOENT" && !/not a git repository/i.test(said))
      warn?.(`inputs: no git commit recorded for ${dir}: ${said.split("\n")[0]}`);
    return undefined;
  }
  const status = await git(["status", "--porcelain"]);
  if (!status.ok) {
    warn?.(`inputs: git status failed in ${dir}: ${(status.stderr.trim() || status.problem).split("\n")[0]}`);
    return { commit: head.stdout.trim(), dirty: true };
  }
  return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== "" };
}
