// What docs/reference.md says of the post-processors besides their option tables: how chains
// and keep_input_artifact work, and what a manifest entry holds.

/** Markdown before the post-processors' sections. */
export const POST_PROCESSOR_INTRO = [
  "## Post-processors",
  "",
  "Post-processors run after a successful build, as its last step (`post-process`, shown as `==> name: Running post-processors...`), in chains: each takes the artifact the previous one returned (files, format, size, checksums, `[image]` metadata, ID, lineage) and returns a new one. Several independent chains may follow one build, as Packer's `post-processors` blocks. A failing post-processor fails the build and is named (`post-processor 2 (compress) failed: ...`); other chains still run. A failed or cancelled post-process step is handled like any failed step: `output_directory` is removed, or kept whole with `--on-error=abort`. Every file is written as `<name>.partial` and renamed when complete, so a failed or cancelled chain leaves nothing that looks finished. Relative `output` paths are relative to the build's `output_directory`.",
  "",
  "### Chains: `[[post_processor]]` and `chain`",
  "",
  'Each `[[post_processor]]` table is a chain of one that starts from the built disk, like Packer\'s `post-processor "x" {}` at the top level of a `build` block. Tables that share a `chain = "name"` form one chain, run in the order written, like the contents of one Packer `post-processors { ... }` block. Chains run one after another, in the order each first appears. `chain` is the only key besides a type\'s options.',
  "",
  "```toml",
  "[[post_processor]]           # chain of one: the disk -> packer-manifest.json",
  'type = "manifest"',
  "",
  '[[post_processor]]           # chain "release": checksum -> compress -> upload -> notify',
  'chain = "release"',
  'type = "checksum"',
  "",
  "[[post_processor]]",
  'chain = "release"',
  'type = "compress"',
  'format = "zst"',
  "",
  "[[post_processor]]",
  'chain = "release"',
  'type = "upload"',
  'url = "https://nexus.example.com/repository/images/{{ .Name }}/{{ .Version }}/{{ .FileName }}"',
  'token = "${env(\\"NEXUS_TOKEN\\")}"',
  "",
  "[[post_processor]]",
  'chain = "release"',
  'type = "notify"',
  'url = "https://devops.example.com/api/images"',
  'secret = "${var.notify_secret}"',
  "```",
  "",
  "`password`, `token`, `secret`, S3 `secret_key` and `session_token` (also when read from `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`), and a password inside an upload or notify `url` are masked as `<sensitive>` in every output, as sensitive variables are. The build's result (and `--json`'s `artifact` events) lists the disk unless no chain kept it, then the last artifact of each chain; after an upload, its ID is the URL (or `s3://bucket/key`).",
  "",
  "### keep_input_artifact",
  "",
  "As in Packer (packer/build.go): after a post-processor other than the first of its chain succeeds, its input's files are deleted unless it keeps them (`keep_input_artifact`, else its default; checksum, manifest and notify always keep). The builder's disk is deleted at the end unless the first post-processor of some chain kept it, so a chain that starts with `compress` replaces the disk by the compressed file. tsimg never deletes record files (checksum lists, manifests), a file a later artifact still uses, or anything after a chain failed.",
  "",
].join("\n");

/** What a manifest entry holds. */
export const MANIFEST_INTRO = [
  "Each entry has Packer's fields (`name`, `builder_type`, `build_time`, `files[{name,size}]`, `artifact_id`, `packer_run_uuid`, `custom_data`) and tsimg's: `image` (the `[image]` table), `format`, `size`, `checksums`, `location`, `inputs` and `lineage` (the base image and its checksum for `disk_image` builds). The file's `last_run_uuid` is the latest run (one UUID per `tsimg build`, shared by its parallel builds).",
  "",
  "`inputs` is what went into the image, with paths relative to the template and keys sorted, so two builds from the same inputs give byte-identical `inputs`:",
  "",
  "| key | what |",
  "|---|---|",
  "| `template` | `{ file, sha256 }` of the template file |",
  '| `iso` | `{ file, sha256 }` of the ISO: the hash `fetch-iso` computed in its one read (with an md5/sha1/sha512 `iso_checksum`, sha256 is computed alongside); with `iso_checksum = "none"`, the ISO is read once more |',
  "| `http_content` | URL path -> sha256 of what was served (the rendered kickstart) |",
  "| `http_directory` | `{ path, files: [{ path, sha256 }] }`, every file under it, sorted |",
  "| `provisioners` | in order: `file` -> `{ source, destination, sha256 }`, or `files: [{ path, sha256 }]` for a directory; `shell` -> `scripts: [{ path, sha256 }]`, or `inline` (the commands as they ran, sensitive values as `<sensitive>`) |",
  "| `variables` | each variable's value; sensitive ones as `<sensitive>` (never hashed) |",
  "| `git` | `{ commit, dirty }` of the git repository holding the template, when there is one (`dirty`: `git status --porcelain` is not empty) |",
  "| `tools` | `tsimg` (package.json), `qemu` and `qemu-img`: the first line of `<program> --version` |",
].join("\n");

/** What the reference says of a type besides its table. */
export const POST_PROCESSOR_INTROS: Record<string, string> = {
  compress:
    "Every compressed file is also hashed (sha256), so a later manifest or notify carries the checksum of what was uploaded.",
  manifest: MANIFEST_INTRO,
};
