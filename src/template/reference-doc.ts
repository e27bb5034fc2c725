// Renders docs/reference.md from the option tables in schema.ts, so the reference always
// lists exactly what the code accepts. `npm run docs` writes it; a test checks it is current.
import {
  CHECKSUM_OPTIONS,
  COMPRESS_OPTIONS,
  MANIFEST_OPTIONS,
  NOTIFY_OPTIONS,
  SHELL_LOCAL_OPTIONS,
  UPLOAD_OPTIONS,
} from "../postprocessors/schema.js";
import { FILE_OPTIONS, SHELL_OPTIONS, SOURCE_OPTIONS, VARIABLE_OPTIONS, type OptionTable, type OptionType } from "./schema.js";

/** The whole reference page, as Markdown. */
export function renderReference(): string {
  return [
    "# Template reference",
    "",
    "<!-- Generated from src/template/schema.ts by `npm run docs`. Edit the schema, not this file. -->",
    "",
    "A template is one TOML file per image. Paths inside it are relative to the template file; `output_directory` is relative to the current directory, as in Packer.",
    "Strings may use `${var.name}`, `${env(\"NAME\")}`, `${file(\"path\")}` and `${timestamp()}` (resolved when the template loads).",
    "`boot_command`, `qemuargs` and provisioner `environment_vars` may also use `{{ .HTTPIP }}`, `{{ .HTTPPort }}`, `{{ .Name }}`, `{{ .SSHHostPort }}` and `{{ .OutputDir }}` (resolved while the build runs).",
    "",
    "Sizes are MiB or a number with a unit (`512M`, `40G`). Durations are Go-style (`30s`, `5m`, `1h30m`, `500ms`).",
    "",
    "## `[image]`",
    "",
    "Free-form identity of the image: `name` (default: the template's file name without `.toml`), `version`, `os_type`, `os_version`, `purpose`, and any other keys. `name` names the build in every log line.",
    "",
    section("`[variables.NAME]`", VARIABLE_OPTIONS, "Values come from, lowest first: `default`, `--var-file`, the environment (`TSIMG_VAR_NAME`, or Packer's `PKR_VAR_NAME`), `--var NAME=value`."),
    section("`[source]`: the qemu builder", SOURCE_OPTIONS),
    section('`[[provisioner]]` with `type = "shell"`', SHELL_OPTIONS, "Scripts also get `PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE=qemu`, `PACKER_HTTP_ADDR` and `TSIMG_BUILD_NAME` in their environment."),
    section('`[[provisioner]]` with `type = "file"`', FILE_OPTIONS),
    POST_PROCESSOR_INTRO,
    section('`[[post_processor]]` with `type = "checksum"`', CHECKSUM_OPTIONS),
    section('`[[post_processor]]` with `type = "compress"`', COMPRESS_OPTIONS, "Every compressed file is also hashed (sha256), so a later manifest or notify carries the checksum of what was uploaded."),
    section('`[[post_processor]]` with `type = "manifest"`', MANIFEST_OPTIONS, MANIFEST_INTRO),
    section('`[[post_processor]]` with `type = "shell-local"`', SHELL_LOCAL_OPTIONS),
    section('`[[post_processor]]` with `type = "upload"`', UPLOAD_OPTIONS),
    section('`[[post_processor]]` with `type = "notify"`', NOTIFY_OPTIONS),
  ].join("\n");
}

function section(title: string, table: OptionTable, intro?: string): string {
  const rows = Object.entries(table).map(
    ([name, spec]) => `| \`${name}\` | ${typeName(spec.type)} | ${spec.required ? "**required**" : defaultText(spec.default, spec.defaultDoc)} | ${cell(spec.doc)} | ${cell(spec.packer)} |`,
  );
  return [`## ${title}`, "", ...(intro ? [intro, ""] : []), "| option | type | default | meaning | Packer |", "|---|---|---|---|---|", ...rows, ""].join("\n");
}

function typeName(type: OptionType): string {
  return typeof type === "object" ? type.enum.map((e) => `\`${e}\``).join(" \\| ") : type;
}

function defaultText(value: unknown, doc: string | undefined): string {
  if (doc) return doc;
  if (value === undefined) return "none";
  return `\`${JSON.stringify(value)}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

const POST_PROCESSOR_INTRO = [
  "## Post-processors",
  "",
  "Post-processors run after a successful build, in chains: each takes the artifact the previous one returned (files, format, size, checksums, `[image]` metadata, ID, lineage) and returns a new one. Several independent chains may follow one build, as Packer's `post-processors` blocks. A failing post-processor fails the build and is named (`post-processor 2 (compress) failed: ...`); other chains still run. Every file is written as `<name>.partial` and renamed when complete, so a failed or cancelled chain leaves nothing that looks finished. Relative `output` paths are relative to the build's `output_directory`.",
  "",
  "### keep_input_artifact",
  "",
  "As in Packer (packer/build.go): after a post-processor other than the first of its chain succeeds, its input's files are deleted unless it keeps them (`keep_input_artifact`, else its default; checksum, manifest and notify always keep). The builder's disk is deleted at the end unless the first post-processor of some chain kept it, so a chain that starts with `compress` replaces the disk by the compressed file. tsimg never deletes record files (checksum lists, manifests), a file a later artifact still uses, or anything after a chain failed.",
  "",
].join("\n");

const MANIFEST_INTRO =
  "Each entry has Packer's fields (`name`, `builder_type`, `build_time`, `files[{name,size}]`, `artifact_id`, `packer_run_uuid`, `custom_data`) and tsimg's: `image` (the `[image]` table), `format`, `size`, `checksums`, `location`, `inputs` (what went into the image: ISO checksum, sha256 of the kickstart, http_content, scripts and template, git commit, tool versions; keys sorted, so equal inputs give byte-identical `inputs`) and `lineage` (the base image and its checksum for `disk_image` builds). The file's `last_run_uuid` is the latest run.";
