// compress: one file to .zst/.gz/.xz through the external CLI (all cores), several files
// to a tar.*, or qcow2's own compression through qemu-img. Streamed, with progress; the
// output is hashed on its way to disk.
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { CancelledError, TsimgError } from "../core/errors.js";
import { TailBuffer } from "../core/tail-buffer.js";
import { deriveArtifact, mainFile, type Artifact } from "./artifact.js";
import { hashFile } from "./checksum.js";
import { commonValues, resolveOutput, writeAtomically } from "./files.js";
import { ProgressLog, formatBytes } from "../util/progress.js";
import { spawnToFile } from "./spawn-to-file.js";
import type { CompressConfig, CompressFormat, PostProcessor, PostProcessorContext } from "./types.js";
import { findProgram } from "../util/which.js";

const DEFAULT_LEVEL = { zst: 3, gz: 6, xz: 6 } as const;
const MAX_LEVEL = { zst: 19, gz: 9, xz: 9 } as const;
type Codec = keyof typeof DEFAULT_LEVEL;

/** The format named by an output path's extension, if any. */
export function formatFromOutput(output: string): CompressFormat | undefined {
  const match = /\.(tar\.zst|tar\.gz|tgz|tar\.xz|zst|gz|xz|qcow2)$/.exec(output);
  const ext = match?.[1];
  if (ext === "tgz") return "tar.gz";
  if (ext === "qcow2") return "qcow2-zstd";
  return ext as CompressFormat | undefined;
}

async function run(input: Artifact, config: CompressConfig, ctx: PostProcessorContext): Promise<Artifact> {
  const format = config.format ?? (config.output ? formatFromOutput(config.output) : undefined) ?? "zst";
  const first = mainFile(input);
  const values = { ...commonValues(ctx), FileName: basename(first) };
  const output = resolveOutput(config.output ?? defaultOutput(format, first), values, ctx, "compress output");
  if (!format.startsWith("tar.") && input.files.length > 1) {
    const fix = format.startsWith("qcow2-") ? "compress the disk alone" : `use "tar.${format}"`;
    throw new TsimgError(`compress: format "${format}" takes one file, the artifact has ${input.files.length}; ${fix}`);
  }
  if (input.files.includes(output))
    throw new TsimgError(`compress: output ${output} is the input file; choose another \`output\``);
  const inputSize = await totalSize(input.files);
  const t0 = Date.now();

  const result = format.startsWith("qcow2-")
    ? await compressQcow2(input, format === "qcow2-zstd" ? "zstd" : "zlib", output, config, ctx, inputSize)
    : await compressStream(input, format, output, config, ctx, inputSize);

  const secs = (Date.now() - t0) / 1000;
  const ratio = inputSize > 0 ? result.bytes / inputSize : 1;
  ctx.events.info(
    `compress: ${basename(output)} is ${formatBytes(result.bytes)}, ${(ratio * 100).toFixed(1)}% of ${formatBytes(inputSize)}, in ${secs.toFixed(1)} s`,
  );
  return deriveArtifact(input, "compress", {
    files: [output],
    format: format.startsWith("qcow2-")
      ? "qcow2"
      : format.startsWith("tar.")
        ? format
        : `${input.format ?? "raw"}.${format}`,
    size: result.bytes,
    checksums: { sha256: result.sha256 },
    id: output,
    data: { compression: { format, input_size: inputSize, ratio: Number(ratio.toFixed(4)) } },
  });
}

function defaultOutput(format: CompressFormat, first: string): string {
  if (format.startsWith("tar.")) return `{{ .BuildName }}.${format}`;
  if (format.startsWith("qcow2-"))
    return `${basename(first).replace(/\.(qcow2|raw|img)$/, "")}-${format.slice(6)}.qcow2`;
  return `{{ .FileName }}.${format}`;
}

async function compressStream(
  input: Artifact,
  format: CompressFormat,
  output: string,
  config: CompressConfig,
  ctx: PostProcessorContext,
  inputSize: number,
): Promise<{ bytes: number; sha256: string }> {
  const tar = format.startsWith("tar.");
  const codec = (tar ? format.slice(4) : format) as Codec;
  const level = checkLevel(codec, config.compression_level);
  const compressor = await compressorArgv(codec, level);
  const first = mainFile(input);
  // zstd writes its output file itself (-o), measured faster than through stdout; gzip, pigz
  // and xz have no -o, and tar writes the archive to stdout.
  const writesOutput = !tar && codec === "zst";
  const argvFor = (partial: string) =>
    tar
      ? [
          "tar",
          "-c",
          "-f",
          "-",
          "-I",
          compressor.join(" "),
          ...input.files.flatMap((f) => ["-C", dirname(f), `./${basename(f)}`]),
        ]
      : writesOutput
        ? [...compressor, "-f", "-o", partial, "--", first]
        : [...compressor, "-c", "--", first];
  ctx.events.info(`compress: ${tar ? argvFor("").slice(0, 6).join(" ") : compressor.join(" ")} -> ${basename(output)}`);
  const progress = new ProgressLog(ctx, `compress ${basename(output)}`, tar ? undefined : inputSize);
  const result = await writeAtomically(output, (partial) =>
    spawnToFile(argvFor(partial), partial, {
      signal: ctx.signal,
      inputPath: tar ? undefined : first,
      writesOutput,
      onProgress: (written, read) => progress.set(read ?? written),
    }),
  );
  progress.set(inputSize);
  progress.finish();
  return result;
}

function checkLevel(codec: Codec, level: number | undefined): number {
  if (level === undefined) return DEFAULT_LEVEL[codec];
  if (level < 1 || level > MAX_LEVEL[codec])
    throw new TsimgError(`compress: compression_level for ${codec} is 1 to ${MAX_LEVEL[codec]}, got ${level}`);
  return level;
}

async function compressorArgv(codec: Codec, level: number): Promise<string[]> {
  switch (codec) {
    case "zst":
      return ["zstd", "-T0", `-${level}`, "-q"];
    case "xz":
      return ["xz", "-T0", `-${level}`];
    case "gz":
      // gzip is single-threaded; pigz writes the same format on every core.
      return [(await findProgram("pigz")) ? "pigz" : "gzip", `-${level}`, "-n"];
  }
}

async function compressQcow2(
  input: Artifact,
  type: "zstd" | "zlib",
  output: string,
  config: CompressConfig,
  ctx: PostProcessorContext,
  inputSize: number,
): Promise<{ bytes: number; sha256: string }> {
  if (config.compression_level !== undefined)
    ctx.events.warn("compress: compression_level is ignored for qcow2 compression (qemu-img has no level)");
  const first = mainFile(input);
  const from = input.format === "qcow2" || input.format === "raw" ? ["-f", input.format] : [];
  const argv = ["convert", "-p", ...from, "-c", "-O", "qcow2", "-o", `compression_type=${type}`, first];
  ctx.events.info(`compress: qemu-img ${argv.join(" ")} -> ${basename(output)}`);
  const progress = new ProgressLog(ctx, `compress ${basename(output)}`, inputSize);
  await writeAtomically(output, (partial) =>
    runQemuImgConvert([...argv, partial], ctx.signal, (pct) => progress.set(Math.round((pct / 100) * inputSize))),
  );
  progress.set(inputSize);
  progress.finish();
  const sha256 = (await hashFile(output, ["sha256"], { signal: ctx.signal })).sha256 as string;
  return { bytes: (await stat(output)).size, sha256 };
}

/** qemu-img convert -p, reporting its "(12.34/100%)" progress; killed on abort. */
function runQemuImgConvert(args: string[], signal: AbortSignal, onPercent: (pct: number) => void): Promise<void> {
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise((resolve, reject) => {
    const child = spawn("qemu-img", args, { stdio: ["ignore", "pipe", "pipe"] });
    const stderr = new TailBuffer(10);
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      const all = [...text.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
      const last = all[all.length - 1];
      if (last) onPercent(Number(last[1]));
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => text.split("\n").forEach((l) => l && stderr.push(l)));
    const onAbort = () => child.kill("SIGTERM");
    signal.addEventListener("abort", onAbort, { once: true });
    child.once("error", (error) => reject(new TsimgError(`qemu-img could not start: ${error.message}`)));
    child.once("close", (code) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) reject(new CancelledError());
      else if (code === 0) resolve();
      else reject(new TsimgError(`qemu-img convert failed (exit code ${code}): ${stderr.lines().join(" / ")}`));
    });
  });
}

async function totalSize(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  return total;
}

/** The compress post-processor. */
export const compressPostProcessor: PostProcessor<CompressConfig> = {
  type: "compress",
  keepInputByDefault: false,
  keepInputForced: false,
  run,
};
