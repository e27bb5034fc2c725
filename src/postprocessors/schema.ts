// Option tables of the post-processors (`[[post_processor]]`), in the same shape as the
// builder's (src/template/schema.ts): validation reads them and docs/reference.md is
// generated from them, so the reference lists exactly what the code accepts.
import type { OptionTable } from "../template/schema.js";

export const CHECKSUM_TYPES = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] as const;
export const COMPRESS_FORMATS = ["zst", "gz", "xz", "tar.zst", "tar.gz", "tar.xz", "qcow2-zstd", "qcow2-zlib"] as const;

const keep = (defaultDoc: string, packer: string) =>
  ({
    type: "boolean",
    defaultDoc,
    doc: "Keep the input artifact's files once this post-processor has made its output. With `false`, files the input artifact had and this one's output no longer has are deleted (the builder's disk only when no chain keeps it). See [keep_input_artifact](#keep_input_artifact).",
    packer,
  }) as const;

const retries = {
  type: "integer",
  default: 4,
  doc: "Attempts in all (1 = no retry). Network errors and HTTP 5xx/408/429 are retried with exponential backoff; any other 4xx fails at once with the server's answer.",
  packer: "none (tsimg)",
} as const;
const retryDelay = { type: "duration", default: "2s", doc: "Wait before the second attempt; doubled for each later one (at most 60 s).", packer: "none (tsimg)" } as const;

/** `type = "checksum"`. */
export const CHECKSUM_OPTIONS = {
  type: { type: "string", required: true, doc: "`checksum`.", packer: '`post-processor "checksum"`' },
  checksum_types: {
    type: "string[]",
    default: ["sha256"],
    doc: "Any of `md5`, `sha1`, `sha224`, `sha256`, `sha384`, `sha512`. All are computed in one read of each file.",
    packer: "`checksum_types` (Packer's default is `[\"md5\"]`)",
  },
  output: {
    type: "string",
    default: "packer_{{ .BuildName }}_{{ .BuilderType }}_{{ .ChecksumType }}.checksum",
    doc: "File that gets one `<hex>\\t<file name>` line per artifact file, relative to the output directory. `{{ .BuildName }}`, `{{ .BuilderType }}` (`qemu`) and `{{ .ChecksumType }}` are filled in; without `{{ .ChecksumType }}`, every type's lines go into the one file. Written whole (replaced, never appended).",
    packer: "`output` (same default and placeholders; Packer appends to an existing file)",
  },
  sha256sums: {
    type: "boolean",
    default: true,
    doc: "Also write `SHA256SUMS` in the output directory, in the format `sha256sum -c SHA256SUMS` checks (run from that directory). sha256 is computed for it even when not in `checksum_types`.",
    packer: "none (tsimg)",
  },
  keep_input_artifact: keep("`true` (forced)", "`keep_input_artifact` (ignored by Packer too: checksum always keeps its input)"),
} satisfies OptionTable;

/** `type = "compress"`. */
export const COMPRESS_OPTIONS = {
  type: { type: "string", required: true, doc: "`compress`.", packer: '`post-processor "compress"`' },
  format: {
    type: { enum: COMPRESS_FORMATS },
    defaultDoc: "from `output`'s extension, else `zst`",
    doc: "`zst` (`zstd -T0`), `gz` (`pigz` when installed, else `gzip`), `xz` (`xz -T0`): one file, streamed. `tar.zst`, `tar.gz`, `tar.xz`: every file of the artifact in one archive. `qcow2-zstd`, `qcow2-zlib`: qcow2's own compression (`qemu-img convert -c -O qcow2 -o compression_type=...`), an image QEMU boots as it is; zstd-compressed qcow2 needs QEMU 5.1 or newer (and qemu-img 5.1+) to read.",
    packer: "`format` (Packer: `.tar.gz`, `.zip`, `.gz`, `.lz4`, `.tar.lz4`; its default is `.tar.gz`)",
  },
  compression_level: {
    type: "integer",
    defaultDoc: "zst 3, gz 6, xz 6",
    doc: "Compression level: zst 1-19, gz and xz 1-9. Ignored, with a warning, for the qcow2 formats (qemu-img has no level).",
    packer: "`compression_level` (Packer's default is 6 for all)",
  },
  output: {
    type: "string",
    defaultDoc: "`<input file>.<format>`; tar: `<build name>.<format>`; qcow2: `<input stem>-<zstd|zlib>.qcow2`",
    doc: "Path of the compressed file, relative to the output directory. `{{ .BuildName }}`, `{{ .BuilderType }}` and `{{ .FileName }}` (the input file's name) are filled in. Without `format`, the format is taken from its extension.",
    packer: "`output` (Packer's default `packer_{{.BuildName}}_{{.BuilderType}}.tar.gz`)",
  },
  keep_input_artifact: keep("`false`", "`keep_input_artifact` (same default)"),
} satisfies OptionTable;

/** `type = "manifest"`. */
export const MANIFEST_OPTIONS = {
  type: { type: "string", required: true, doc: "`manifest`.", packer: '`post-processor "manifest"`' },
  output: {
    type: "string",
    default: "packer-manifest.json",
    doc: "The manifest file, relative to the output directory. Each build appends its entry to `builds`; with `--force`, an entry from an earlier run (another `last_run_uuid`) is dropped first.",
    packer: "`output` (Packer's path is relative to the current directory)",
  },
  strip_path: { type: "boolean", default: false, doc: "Write only file names in `files`, not paths.", packer: "`strip_path`" },
  strip_time: { type: "boolean", default: false, doc: "Leave out `build_time`.", packer: "`strip_time`" },
  custom_data: { type: "table", doc: "Free `key = \"value\"` data copied into the entry's `custom_data`.", packer: "`custom_data`" },
  keep_input_artifact: keep("`true` (forced)", "`keep_input_artifact` (ignored by Packer too)"),
} satisfies OptionTable;

/** `type = "shell-local"`. */
export const SHELL_LOCAL_OPTIONS = {
  type: { type: "string", required: true, doc: "`shell-local`.", packer: '`post-processor "shell-local"`' },
  inline: { type: "string[]", doc: "Commands run on this machine as one script (`inline_shebang`). Exactly one of `inline`, `script`, `scripts`.", packer: "`inline`" },
  inline_shebang: { type: "string", default: "/bin/sh -e", doc: "Interpreter of the script made from `inline`.", packer: "`inline_shebang`" },
  script: { type: "path", doc: "A local script, relative to the template, run with `/bin/sh` unless it is executable.", packer: "`script`" },
  scripts: { type: "path[]", doc: "Several scripts, run in order.", packer: "`scripts`" },
  environment_vars: {
    type: "string[]",
    default: [],
    doc: "`KEY=value` pairs added to the environment. The script also gets `TSIMG_ARTIFACT` (the main file), `TSIMG_ARTIFACT_FILES` (one path a line), `TSIMG_ARTIFACT_ID`, `TSIMG_ARTIFACT_FORMAT`, `TSIMG_ARTIFACT_SIZE`, `TSIMG_CHECKSUM_<TYPE>`, `TSIMG_IMAGE_<KEY>` for each `[image]` key, `TSIMG_OUTPUT_DIR`, `TSIMG_RUN_UUID`, `PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE=qemu` and `TSIMG_BUILD_NAME`.",
    packer: "`environment_vars` (Packer passes only the build name and type)",
  },
  valid_exit_codes: { type: "integer[]", default: [0], doc: "Exit codes that count as success.", packer: "`valid_exit_codes`" },
  keep_input_artifact: keep("`true`", "`keep_input_artifact`"),
} satisfies OptionTable;

/** `type = "upload"`. */
export const UPLOAD_OPTIONS = {
  type: { type: "string", required: true, doc: "`upload`.", packer: "none (tsimg)" },
  target: { type: { enum: ["http"] }, default: "http", doc: "`http`: an HTTP(S) PUT per file (WebDAV, Nexus or Artifactory raw repositories). `s3` comes later.", packer: "none (tsimg)" },
  url: {
    type: "string",
    required: true,
    doc: "Where each file goes. `{{ .Name }}` and `{{ .Version }}` (from `[image]`), `{{ .FileName }}`, `{{ .BuildName }}` and `{{ .RunUUID }}` are filled in. An artifact of several files needs `{{ .FileName }}`. The main file's URL becomes the artifact's ID.",
    packer: "none (tsimg)",
  },
  headers: { type: "table", doc: "Extra request headers, e.g. `{ \"X-Checksum-Sha256\" = \"...\" }`.", packer: "none (tsimg)" },
  username: { type: "string", doc: "Basic auth user (with `password`).", packer: "none (tsimg)" },
  password: { type: "string", doc: "Basic auth password; take it from a sensitive variable or `${env(\"...\")}`.", packer: "none (tsimg)" },
  token: { type: "string", doc: "Sent as `Authorization: Bearer <token>`. Not with `username`.", packer: "none (tsimg)" },
  retries,
  retry_delay: retryDelay,
  timeout: { type: "duration", default: "2m", doc: "An attempt fails when no byte moves for this long.", packer: "none (tsimg)" },
  keep_input_artifact: keep("`true`", "none (tsimg)"),
} satisfies OptionTable;

/** `type = "notify"`. */
export const NOTIFY_OPTIONS = {
  type: { type: "string", required: true, doc: "`notify`.", packer: "none (tsimg)" },
  url: { type: "string", required: true, doc: "Receives a POST of the artifact's manifest entry as JSON (image metadata, artifact ID, files, checksums, size, inputs, lineage).", packer: "none (tsimg)" },
  secret: {
    type: "string",
    doc: "Signs the body: header `X-Tsimg-Signature: sha256=<hex HMAC-SHA256 of the body>`. Without it, the request is unsigned.",
    packer: "none (tsimg)",
  },
  headers: { type: "table", doc: "Extra request headers.", packer: "none (tsimg)" },
  retries,
  retry_delay: retryDelay,
  timeout: { type: "duration", default: "30s", doc: "Time limit of one attempt.", packer: "none (tsimg)" },
  keep_input_artifact: keep("`true` (forced)", "none (tsimg)"),
} satisfies OptionTable;

/** Option table of each post-processor type. */
export const POST_PROCESSOR_TABLES = {
  checksum: CHECKSUM_OPTIONS,
  compress: COMPRESS_OPTIONS,
  manifest: MANIFEST_OPTIONS,
  "shell-local": SHELL_LOCAL_OPTIONS,
  upload: UPLOAD_OPTIONS,
  notify: NOTIFY_OPTIONS,
} as const satisfies Record<string, OptionTable>;

export type PostProcessorType = keyof typeof POST_PROCESSOR_TABLES;
