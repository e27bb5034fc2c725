// Option tables of the post-processors (`[[post_processor]]`), in the same shape as every
// component's (core/options.ts): validation reads them, their config types are derived from
// them (types.ts), and docs/reference.md is generated from them.
import type { OptionTable } from "../core/options.js";
import { LOCAL_SCRIPT_OPTIONS } from "../util/run-local.js";

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
const retryDelay = {
  type: "duration",
  default: "2s",
  doc: "Wait before the second attempt; doubled for each later one (at most 60 s).",
  packer: "none (tsimg)",
} as const;

/** `type = "checksum"`. */
export const CHECKSUM_OPTIONS = {
  type: { type: "string", required: true, doc: "`checksum`.", packer: '`post-processor "checksum"`' },
  checksum_types: {
    type: "string[]",
    default: ["sha256"],
    doc: "Any of `md5`, `sha1`, `sha224`, `sha256`, `sha384`, `sha512`. All are computed in one read of each file.",
    packer: '`checksum_types` (Packer\'s default is `["md5"]`)',
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
  keep_input_artifact: keep(
    "`true` (forced)",
    "`keep_input_artifact` (ignored by Packer too: checksum always keeps its input)",
  ),
} as const satisfies OptionTable;

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
} as const satisfies OptionTable;

/** `type = "manifest"`. */
export const MANIFEST_OPTIONS = {
  type: { type: "string", required: true, doc: "`manifest`.", packer: '`post-processor "manifest"`' },
  output: {
    type: "string",
    default: "packer-manifest.json",
    doc: "The manifest file, relative to the output directory. Each build appends its entry to `builds`; with `--force`, an entry from an earlier run (another `last_run_uuid`) is dropped first.",
    packer: "`output` (Packer's path is relative to the current directory)",
  },
  strip_path: {
    type: "boolean",
    default: false,
    doc: "Write only file names in `files`, not paths.",
    packer: "`strip_path`",
  },
  strip_time: { type: "boolean", default: false, doc: "Leave out `build_time`.", packer: "`strip_time`" },
  custom_data: {
    type: "table",
    doc: 'Free `key = "value"` data copied into the entry\'s `custom_data`.',
    packer: "`custom_data`",
  },
  keep_input_artifact: keep("`true` (forced)", "`keep_input_artifact` (ignored by Packer too)"),
} as const satisfies OptionTable;

/** `type = "shell-local"`. */
export const SHELL_LOCAL_OPTIONS = {
  type: { type: "string", required: true, doc: "`shell-local`.", packer: '`post-processor "shell-local"`' },
  ...LOCAL_SCRIPT_OPTIONS,
  environment_vars: {
    type: "string[]",
    default: [],
    doc: "`KEY=value` pairs added to the environment. The script also gets `TSIMG_ARTIFACT` (the main file), `TSIMG_ARTIFACT_FILES` (one path a line), `TSIMG_ARTIFACT_ID`, `TSIMG_ARTIFACT_FORMAT`, `TSIMG_ARTIFACT_SIZE`, `TSIMG_CHECKSUM_<TYPE>`, `TSIMG_IMAGE_<KEY>` for each `[image]` key, `TSIMG_OUTPUT_DIR`, `TSIMG_RUN_UUID`, `PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE=qemu` and `TSIMG_BUILD_NAME`.",
    packer: "`environment_vars` (Packer passes only the build name and type)",
  },
  keep_input_artifact: keep("`true`", "`keep_input_artifact`"),
} as const satisfies OptionTable;

/** `type = "upload"`. */
export const UPLOAD_OPTIONS = {
  type: { type: "string", required: true, doc: "`upload`.", packer: "none (tsimg)" },
  target: {
    type: { enum: ["http", "s3"] },
    default: "http",
    doc: "`http`: an HTTP(S) PUT per file (WebDAV, Nexus or Artifactory raw repositories); needs `url`. `s3`: any S3-compatible store (AWS S3, MinIO, Ceph RGW, Alibaba OSS in S3 mode) through `@aws-sdk/client-s3`, a multipart upload per file; needs `bucket`. Tested against `@20minutes/s3rver` (a maintained fork of the npm `s3rver` fake S3 server: real multipart upload on disk), with a test-side shim for AbortMultipartUpload, which it lacks. Verified after an `s3` upload: each part's ETag equals the MD5 of the bytes sent for it (skipped under SSE-KMS or SSE-C, where ETags are not MD5s); then HeadObject: the size must match, the object's ETag must equal S3's multipart form (MD5 of the part MD5s, `-N`) when the store reports that form, and the `sha256` user metadata (`x-amz-meta-sha256`, set from the artifact's sha256 when an earlier checksum or compress step computed it) must read back. The store itself does not check the sha256. A failed or cancelled upload is aborted (AbortMultipartUpload), so no parts are left.",
    packer: "none (tsimg)",
  },
  url: {
    type: "string",
    doc: "`http` (required there): where each file goes. `{{ .Name }}` and `{{ .Version }}` (from `[image]`), `{{ .FileName }}`, `{{ .BuildName }}` and `{{ .RunUUID }}` are filled in. An artifact of several files needs `{{ .FileName }}`. The main file's URL becomes the artifact's ID.",
    packer: "none (tsimg)",
  },
  headers: {
    type: "table",
    doc: '`http`: extra request headers, e.g. `{ "X-Checksum-Sha256" = "..." }`.',
    packer: "none (tsimg)",
  },
  username: { type: "string", doc: "`http`: basic auth user (with `password`).", packer: "none (tsimg)" },
  password: {
    type: "string",
    secret: true,
    doc: '`http`: basic auth password; take it from a sensitive variable or `${env("...")}`.',
    packer: "none (tsimg)",
  },
  token: {
    type: "string",
    secret: true,
    doc: "`http`: sent as `Authorization: Bearer <token>`. Not with `username`.",
    packer: "none (tsimg)",
  },
  bucket: {
    type: "string",
    doc: "`s3` (required there): the bucket. It must exist; tsimg does not create it.",
    packer: "none (tsimg)",
  },
  key: {
    type: "string",
    defaultDoc: "`{{ .Name }}/{{ .Version }}/{{ .FileName }}`",
    doc: "`s3`: the object key of each file, with the same placeholders as `url`. An artifact of several files needs `{{ .FileName }}`. The main file's `s3://<bucket>/<key>` becomes the artifact's ID and location; the artifact's data gets `upload_urls` (the `s3://` form) and `s3_objects` (bucket, key, the endpoint URL of the object, size, ETag).",
    packer: "none (tsimg)",
  },
  endpoint: {
    type: "string",
    defaultDoc: "AWS S3 of `region`",
    doc: "`s3`: the store's base URL, e.g. `http://minio.lan:9000`, `https://rgw.example.com`, `https://oss-cn-hangzhou.aliyuncs.com`. Unset: AWS itself.",
    packer: "none (tsimg)",
  },
  region: {
    type: "string",
    defaultDoc: "`us-east-1`",
    doc: "`s3`: the region used to sign requests (MinIO and Ceph accept `us-east-1` unless configured otherwise).",
    packer: "none (tsimg)",
  },
  force_path_style: {
    type: "boolean",
    defaultDoc: "`true` with `endpoint`, `false` without",
    doc: "`s3`: address objects as `<endpoint>/<bucket>/<key>` (path style) instead of `<bucket>.<endpoint host>/<key>` (virtual-hosted style). Path style is the default for a custom `endpoint` because MinIO and Ceph RGW serve it without wildcard DNS; set `false` for Alibaba OSS, which accepts only virtual-hosted style.",
    packer: "none (tsimg)",
  },
  access_key: {
    type: "string",
    defaultDoc: "`$AWS_ACCESS_KEY_ID`",
    doc: "`s3`: the access key ID. Without it (and `secret_key`), the environment's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` are used; tsimg does not read `~/.aws` or instance metadata.",
    packer: "none (tsimg)",
  },
  secret_key: {
    type: "string",
    secret: true,
    defaultDoc: "`$AWS_SECRET_ACCESS_KEY`",
    doc: '`s3`: the secret access key; take it from a sensitive variable or `${env("...")}`. Masked in every output.',
    packer: "none (tsimg)",
  },
  session_token: {
    type: "string",
    secret: true,
    defaultDoc: "`$AWS_SESSION_TOKEN` when the keys come from the environment",
    doc: "`s3`: a temporary session token (STS). Masked in every output.",
    packer: "none (tsimg)",
  },
  part_size: {
    type: "size",
    defaultDoc: "`64M`",
    doc: "`s3`: the size of each part of a multipart upload, at least `5M` (S3's minimum for all parts but the last) and at most `5G`. A file of at most one part goes up with a single PUT. S3 allows 10,000 parts, so a file larger than 10,000 parts gets parts of `ceil(size / 10000)` instead (logged).",
    packer: "none (tsimg)",
  },
  queue_size: {
    type: "integer",
    defaultDoc: "`4`",
    doc: "`s3`: parts sent at once. Each part is streamed from the file (a part is never held in memory), so memory does not grow with it.",
    packer: "none (tsimg)",
  },
  retries: {
    type: "integer",
    default: 4,
    doc: "Attempts in all (1 = no retry). Network errors and HTTP 5xx/408/429 are retried with exponential backoff; any other 4xx fails at once with the server's answer. `s3`: counted per request (each part, the create, complete and HEAD requests); a retried part re-reads its range of the file.",
    packer: "none (tsimg)",
  },
  retry_delay: retryDelay,
  timeout: {
    type: "duration",
    default: "2m",
    doc: "An attempt fails when no byte moves for this long.",
    packer: "none (tsimg)",
  },
  keep_input_artifact: keep("`true`", "none (tsimg)"),
} as const satisfies OptionTable;

/** `type = "notify"`. */
export const NOTIFY_OPTIONS = {
  type: { type: "string", required: true, doc: "`notify`.", packer: "none (tsimg)" },
  url: {
    type: "string",
    required: true,
    doc: "Receives a POST of the artifact's manifest entry as JSON (image metadata, artifact ID, files, checksums, size, inputs, lineage).",
    packer: "none (tsimg)",
  },
  secret: {
    type: "string",
    secret: true,
    doc: "Signs the body: header `X-Tsimg-Signature: sha256=<hex HMAC-SHA256 of the body>`. Without it, the request is unsigned.",
    packer: "none (tsimg)",
  },
  headers: { type: "table", doc: "Extra request headers.", packer: "none (tsimg)" },
  retries,
  retry_delay: retryDelay,
  timeout: { type: "duration", default: "30s", doc: "Time limit of one attempt.", packer: "none (tsimg)" },
  keep_input_artifact: keep("`true` (forced)", "none (tsimg)"),
} as const satisfies OptionTable;

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
