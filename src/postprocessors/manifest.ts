// manifest: Packer's packer-manifest.json (builds[] + last_run_uuid), appended per build,
// plus tsimg's image metadata, checksums, inputs (sorted, so equal inputs give equal JSON)
// and lineage.
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import { TsimgError } from "../core/errors.js";
import { deriveArtifact, type Artifact } from "./artifact.js";
import { commonValues, resolveOutput, writeFileAtomically } from "./files.js";
import type { ManifestConfig, PostProcessor, PostProcessorContext } from "./types.js";

/** One entry of `builds`: Packer's fields first, tsimg's after. */
export interface ManifestEntry {
  name: string;
  builder_type: "qemu";
  build_time?: number;
  files: Array<{ name: string; size: number }>;
  artifact_id: string;
  packer_run_uuid: string;
  custom_data: Record<string, string> | null;
  image: Record<string, unknown>;
  format?: string;
  size?: number;
  checksums: Record<string, string>;
  location?: string;
  inputs: Record<string, unknown>;
  lineage: Record<string, unknown> | null;
  /** What the image holds (os, kernel, packages, services, users, groups, ports, uploaded files). */
  inventory?: Record<string, unknown>;
  /** The CycloneDX SBOM beside the artifact. */
  sbom?: { file: string; sha256: string };
  /** The template file: `tsimg diff` finds changed inputs' files beside it for a unified diff. */
  template_path?: string;
  /** The layer cache's layers (docs/cache.md): each one's key, and whether this build took it from the cache. */
  layers?: Array<{ index: number; title: string; key: string; reused: boolean }>;
}

export interface ManifestFile {
  builds: ManifestEntry[];
  last_run_uuid: string;
}

/** The entry describing `artifact`, as the manifest and notify write it. */
export async function manifestEntry(
  artifact: Artifact,
  ctx: PostProcessorContext,
  options: { stripPath?: boolean; stripTime?: boolean; customData?: Record<string, string> } = {},
): Promise<ManifestEntry> {
  const files = await Promise.all(
    artifact.files.map(async (file) => ({
      name: options.stripPath ? basename(file) : file,
      size: await stat(file).then(
        (s) => s.size,
        () => 0,
      ),
    })),
  );
  return {
    name: ctx.build.name,
    builder_type: "qemu",
    ...(options.stripTime ? {} : { build_time: Math.floor(Date.now() / 1000) }),
    files,
    artifact_id: artifact.id,
    packer_run_uuid: ctx.build.runUuid,
    custom_data: options.customData ?? null,
    image: sortKeys({ ...artifact.image }) as Record<string, unknown>,
    ...(artifact.format === undefined ? {} : { format: artifact.format }),
    ...(artifact.size === undefined ? {} : { size: artifact.size }),
    checksums: sortKeys({ ...artifact.checksums }) as Record<string, string>,
    ...(artifact.location === undefined ? {} : { location: artifact.location }),
    inputs: sortKeys(ctx.inputs ?? {}) as Record<string, unknown>,
    lineage: artifact.lineage ? (sortKeys({ ...artifact.lineage }) as Record<string, unknown>) : null,
    ...(ctx.build.templatePath ? { template_path: ctx.build.templatePath } : {}),
    ...(ctx.contents ? { inventory: ctx.contents.inventory } : {}),
    ...(ctx.layers ? { layers: ctx.layers.map((l) => ({ ...l })) } : {}),
    ...(ctx.contents?.sbom
      ? {
          sbom: {
            ...ctx.contents.sbom,
            file: options.stripPath ? basename(ctx.contents.sbom.file) : ctx.contents.sbom.file,
          },
        }
      : {}),
  };
}

/** A copy of `value` with every object's keys in sorted order (arrays keep their order). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** Serialises writers of the same manifest in this process (parallel builds share one file). */
const locks = new Map<string, Promise<unknown>>();

async function run(input: Artifact, config: ManifestConfig, ctx: PostProcessorContext): Promise<Artifact> {
  // The manifest keeps the entries it finds (Packer's manifest accumulates builds), so it may live outside the output directory.
  const path = resolveOutput(config.output, commonValues(ctx), ctx, "manifest output", { merges: true });
  const entry = await manifestEntry(input, ctx, {
    stripPath: config.strip_path,
    stripTime: config.strip_time,
    customData: config.custom_data,
  });
  const previous = locks.get(path) ?? Promise.resolve();
  const done = previous.catch(() => undefined).then(() => appendEntry(path, entry, ctx));
  locks.set(path, done);
  try {
    await done;
  } finally {
    if (locks.get(path) === done) locks.delete(path);
  }
  ctx.events.info(`manifest: added ${ctx.build.name} to ${path}`);
  return deriveArtifact(input, "manifest", { records: [path] });
}

/** Reads the manifest, appends the entry (dropping other runs' entries under --force), writes it whole. */
async function appendEntry(path: string, entry: ManifestEntry, ctx: PostProcessorContext): Promise<void> {
  let manifest: ManifestFile = { builds: [], last_run_uuid: "" };
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw new TsimgError(`manifest: cannot read ${path}: ${error.message}`);
  });
  if (text.trim()) {
    try {
      manifest = JSON.parse(text) as ManifestFile;
    } catch (error) {
      throw new TsimgError(`manifest: ${path} is not valid JSON (${(error as Error).message}); move it away or fix it`);
    }
    if (!Array.isArray(manifest.builds)) manifest.builds = [];
  }
  if (ctx.force && manifest.last_run_uuid !== ctx.build.runUuid) manifest.builds = [];
  manifest.builds.push(entry);
  manifest.last_run_uuid = ctx.build.runUuid;
  await writeFileAtomically(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The manifest post-processor. */
export const manifestPostProcessor: PostProcessor<ManifestConfig> = {
  type: "manifest",
  keepInputByDefault: true,
  keepInputForced: true,
  run,
};
