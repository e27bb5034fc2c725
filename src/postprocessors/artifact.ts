// The artifact: what a build produced, and what each post-processor turns into the next
// one. Plain, frozen data: a post-processor never changes its input, it returns a new one.
import type { ImageMeta } from "../core/image.js";

/** The image a `disk_image` build started from. */
export interface Lineage {
  /** Path or URL of the base image. */
  base_image: string;
  /** Its checksum, `sha256:<hex>`. */
  base_checksum?: string;
  [key: string]: unknown;
}

export interface Artifact {
  /** Payload files, absolute paths; files[0] is the main one (the disk, the archive). */
  readonly files: readonly string[];
  /** Record files (checksum lists, manifests): never deleted by keep_input_artifact, carried down the chain. */
  readonly records: readonly string[];
  /** What files[0] is: "qcow2", "raw", "qcow2.zst", "tar.zst", ... */
  readonly format?: string;
  /** Size of files[0] in bytes. */
  readonly size?: number;
  /** Checksums of files[0]: type ("sha256") -> lowercase hex. */
  readonly checksums: Readonly<Record<string, string>>;
  /** The `[image]` metadata. */
  readonly image: Readonly<ImageMeta>;
  /** Packer's artifact ID: the file's path, or where it was uploaded (URL). */
  readonly id: string;
  /** Where the artifact now lives when it left this machine (the upload URL). */
  readonly location?: string;
  /** Which component made it: "qemu" or a post-processor type. */
  readonly producer: string;
  /** Free data post-processors add (upload URLs, compress ratio...). */
  readonly data: Readonly<Record<string, unknown>>;
  readonly lineage?: Readonly<Lineage>;
}

/** The builder's artifact: the disk image file, then any additional disks. */
export function builderArtifact(input: {
  file: string;
  /** disk_additional_size disks. */
  moreFiles?: string[];
  format: string;
  size?: number;
  image: ImageMeta;
  lineage?: Lineage;
}): Artifact {
  return freeze({
    files: [input.file, ...(input.moreFiles ?? [])],
    records: [],
    format: input.format,
    size: input.size,
    checksums: {},
    image: input.image,
    id: input.file,
    producer: "qemu",
    data: {},
    lineage: input.lineage,
  });
}

/**
 * A new artifact from `base` with `changes`. Changing files resets what described the old
 * files (checksums, size, format, id) unless `changes` gives them again.
 */
export function deriveArtifact(
  base: Artifact,
  producer: string,
  changes: Partial<Omit<Artifact, "producer">>,
): Artifact {
  const filesChanged = changes.files !== undefined && !sameList(changes.files, base.files);
  const described = filesChanged
    ? { checksums: {}, size: undefined, format: undefined, id: changes.files?.[0] ?? "" }
    : {};
  return freeze({
    ...base,
    ...described,
    ...changes,
    records: [...new Set([...base.records, ...(changes.records ?? [])])],
    data: { ...base.data, ...changes.data },
    producer,
  });
}

/** The main file; every artifact a builder or post-processor makes has one. */
export function mainFile(artifact: Artifact): string {
  const file = artifact.files[0];
  if (file === undefined) throw new Error("artifact has no files");
  return file;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function freeze(artifact: Artifact): Artifact {
  return Object.freeze({
    ...artifact,
    files: Object.freeze([...artifact.files]),
    records: Object.freeze([...artifact.records]),
    checksums: Object.freeze({ ...artifact.checksums }),
    data: Object.freeze({ ...artifact.data }),
  });
}
